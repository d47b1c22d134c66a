from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditChainHead(models.Model):
    """One row: the sequence number and hash of the newest audit event, sealed.

    Writers lock this row to append, so the chain never forks under concurrency, and
    ``audit_verify`` compares against it to notice events deleted from the end; the seal
    (an HMAC under the server's audit key) shows whether someone "fixed" it by hand.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")
    seal = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit head #{self.last_seq}"


class AppendOnlyError(Exception):
    pass


class AuditEvent(models.Model):
    """Append-only record of a state change, chained by hash to the event before it and
    sealed with an HMAC of that hash under a key the database never holds."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    # Groups an event with the component it concerns, so a component's timeline
    # (its submissions, tickets, sign-offs) is one indexed query.
    scope = models.CharField(max_length=64, blank=True, db_index=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)
    seal = models.CharField(max_length=64, blank=True)
    #: Which audit key made the seal (a digest of the key, never the key).
    key_id = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored: the token itself is shown once,
    when it is made. It expires, and can be revoked; ``prefix`` (the first characters,
    not secret) finds the row and tells the owner which token is which."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}) of {self.user}"

    def is_active(self, now) -> bool:
        return self.revoked_at is None and self.expires_at > now


class ServiceHeartbeat(models.Model):
    """The last sign of life of one background process, which /healthz reads: each Celery
    worker (``worker:<node name>``, with the queues it consumes) and beat (``beat``) write
    their own row every GATEHOUSE_HEARTBEAT_SECONDS (core.health)."""

    name = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list, blank=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"
