"""Notifications: what the outbox derived from the audit chain, for people and systems."""

from django.conf import settings
from django.db import models

from core.models import AuditEvent
from notifications.enums import Channel, DeliveryState, Kind


class OutboxCursor(models.Model):
    """How far along the audit chain a consumer has read. Advanced in the same transaction
    as the rows it derived, so each event is fanned out once, and in order."""

    name = models.CharField(max_length=40, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at #{self.last_seq}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: The channel chosen when it was made (a later change of preference is not retroactive).
    channel = models.CharField(max_length=16, choices=Channel.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="one_notification_per_event")
        ]
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(fields=["user", "-created_at"], name="notification_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.title}"


class Preference(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} → {self.channel}"


class Escalation(models.Model):
    """A ticket that passed its SLA (level 1: its reviewers told) or twice its SLA (level 2:
    the department's leads told); the unique row makes each level happen once."""

    ticket = models.ForeignKey(
        "reviews.ReviewTicket", on_delete=models.CASCADE, related_name="escalations"
    )
    level = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "level"], name="one_escalation_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.ticket} escalated to level {self.level}"


class WebhookSubscription(models.Model):
    """An outgoing webhook the open-source office set up: the events it wants, where to.
    Its signing secret is never stored: it is derived from ``nonce`` and a server key."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    #: Audit actions ("release.published") or families ("release.*"); "*" for all.
    events = models.JSONField(default=list)
    nonce = models.CharField(max_length=64)
    #: Events up to this one (its own creation) happened before it: they are not sent.
    after_seq = models.PositiveBigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    #: Failed attempts in a row; reset by a delivery; disabled at the setting's limit.
    failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: While a sender works on this subscription's queue (one at a time keeps the order).
    lease_owner = models.CharField(max_length=80, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-event__seq"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["subscription", "state", "event"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription}: {self.state}"
