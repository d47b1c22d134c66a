"""Incoming push webhooks: a hook per repository, and the log of what each delivery was
and what it set off."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from governance.models import Repository


class RepositoryHook(models.Model):
    """Where a forge tells Gatehouse of a push to one repository. ``public_id`` names it
    in the URL; its secret is derived from ``nonce`` under the server key (see
    ``core.tokens.derived_secret``) and never stored, so it can be shown only when it is
    made: rotating makes a new nonce, and the old secret stops working at once."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, related_name="hook")
    public_id = models.CharField(max_length=32, unique=True)
    nonce = models.CharField(max_length=64)
    rotated_at = models.DateTimeField()
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push hook of {self.repository}"

    def get_absolute_url(self) -> str:
        return reverse("integrations:repository-hooks", kwargs={"pk": self.repository_id})

    def path(self, provider: str) -> str:
        return reverse("api-hook", kwargs={"provider": provider, "hook": self.public_id})


class HookDelivery(models.Model):
    """One request to a hook: who sent it, whether it proved itself, and what it set off.
    A verified delivery's id is unique per hook, which is what refuses a replay."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        IGNORED = "ignored", "Ignored"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    hook = models.ForeignKey(RepositoryHook, on_delete=models.CASCADE, related_name="deliveries")
    provider = models.CharField(max_length=16)
    #: The forge's id for this delivery (X-GitHub-Delivery, X-Gitlab-Event-UUID, ...).
    delivery_id = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=60, blank=True)
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(db_index=True)
    verified = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    #: What the payload says was pushed: the ref is used to choose what to refresh, the
    #: commit only shown. Gatehouse resolves the branch itself; it never trusts the body.
    ref = models.CharField(max_length=255, blank=True)
    after = models.CharField(max_length=64, blank=True)
    #: What it set off: [{"kind": "refresh", "submission": pk, "moved": bool, "commit":
    #: sha} | {"kind": "sync", "component": pk, "job": pk} | {"kind": "skipped", ...}].
    triggered = models.JSONField(default=list, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "hook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["hook", "delivery_id"],
                condition=models.Q(verified=True),
                name="one_verified_delivery_per_id",
            )
        ]
        indexes = [models.Index(fields=["hook", "-received_at"], name="hook_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event or 'request'} {self.delivery_id} ({self.status})"
