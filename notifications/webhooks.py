"""Outgoing webhooks: subscriptions the open-source office manages, and their sender.

Each delivery is a row the outbox made in the transaction that read its event; a sender
works through one subscription's pending deliveries oldest event first, holding a lease
on the subscription so that two senders never interleave (receivers get events in
order). A failed attempt waits with exponential backoff and holds back the ones after it;
after ``GATEHOUSE_WEBHOOK_MAX_FAILURES`` failures in a row the subscription is disabled
(audited) and keeps its queue until someone enables it again.

Where a webhook may go is the egress guard's decision (``vcs.remote.check_egress``, the
one git uses): https only, an internal address only when an allow-list entry names that
host, and the connection pinned to the address that was checked. No redirect is
followed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import AuditEvent
from core.tokens import derived_secret
from notifications.enums import DeliveryState
from notifications.models import WebhookDelivery, WebhookSubscription
from notifications.services import subscription_audit
from vcs.errors import RepositoryUnreachable, UnsafeURL
from vcs.remote import check_egress

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gatehouse-Signature-256"
LEASE_SECONDS = 60
#: Event families a subscription can ask for (or "*" for every event).
EVENT_FAMILIES = [
    "submission", "ticket", "signoff", "comment", "finding", "release", "waiver", "backport",
    "component", "alert", "vote", "event", "repository", "webhook",
]  # fmt: skip


def subscription_secret(subscription: WebhookSubscription) -> str:
    return derived_secret("outgoing-webhook", subscription.nonce)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- subscriptions


def _clean(url: str, events: list[str]) -> tuple[str, list[str]]:
    problems: dict[str, list[str]] = {}
    url = (url or "").strip()
    if urlsplit(url).scheme != "https":
        problems["url"] = ["A webhook URL must start with https://."]
    else:
        try:
            check_egress(url, settings.GATEHOUSE_WEBHOOK_ALLOW, unresolved_ok=True)
        except (UnsafeURL, RepositoryUnreachable) as exc:
            problems["url"] = [str(exc).replace("Repository URL", "The URL")]
    allowed = {"*", *EVENT_FAMILIES, *(f"{f}.*" for f in EVENT_FAMILIES)}
    chosen = []
    for name in events or []:
        name = name.strip()
        family = name.split(".")[0]
        if name in allowed or (family in EVENT_FAMILIES and name.count(".") == 1):
            chosen.append(name if "." in name or name == "*" else f"{name}.*")
        else:
            problems.setdefault("events", []).append(f"Unknown event {name!r}.")
    if not chosen and "events" not in problems:
        problems["events"] = ["Choose at least one event."]
    if problems:
        raise ValidationError(problems)
    return url, sorted(set(chosen))


def subscription_create(
    *, actor, url: str, events: list[str], description: str = ""
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``events`` (families like "release.*", exact actions, or "*").
    Returns the subscription and its secret, which is shown once and never stored. Only
    events committed after this are delivered. Audited."""
    url, events = _clean(url, events)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            url=url, events=events, description=description.strip()[:200],
            nonce=secrets.token_hex(32), created_by=actor,
        )  # fmt: skip
        event = subscription_audit(subscription=subscription, actor=actor, action="created")
        subscription.after_seq = event.seq
        subscription.save(update_fields=["after_seq"])
    return subscription, subscription_secret(subscription)


def subscription_rotate(*, subscription: WebhookSubscription, actor) -> str:
    """Give the subscription a new secret (the old one stops signing at once) and return
    it, shown once. Audited (without the secret)."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        locked.nonce = secrets.token_hex(32)
        locked.save(update_fields=["nonce"])
        subscription_audit(subscription=locked, actor=actor, action="rotated")
    subscription.nonce = locked.nonce
    return subscription_secret(locked)


def subscription_set_active(
    *, subscription: WebhookSubscription, actor, active: bool, reason: str = ""
) -> bool:
    """Enable or disable a subscription; enabling clears its failure count, and its
    pending deliveries go out again in order. False when it already was so. Audited."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.is_active == active:
            return False
        locked.is_active = active
        locked.failures = 0 if active else locked.failures
        locked.disabled_reason = "" if active else reason[:300]
        locked.save(update_fields=["is_active", "failures", "disabled_reason"])
        subscription_audit(
            subscription=locked, actor=actor, action="enabled" if active else "disabled",
            **({"reason": reason} if reason else {}),
        )  # fmt: skip
    if active:
        from notifications import tasks

        transaction.on_commit(lambda: tasks.deliver_webhooks.delay(subscription_id=locked.pk))
    return True


# --------------------------------------------------------------------------- the payload


def payload(event: AuditEvent, delivery: WebhookDelivery) -> bytes:
    """The JSON a receiver gets: the audit event as the chain holds it (its hash lets a
    receiver match it against an evidence bundle or the audit log)."""
    return json.dumps(
        {
            "delivery": delivery.pk,
            "seq": event.seq,
            "action": event.action,
            "created_at": event.created_at,
            "actor": event.actor_name,
            "object": {"type": event.object_type, "id": event.object_id, "repr": event.object_repr},
            "scope": event.scope,
            "before": event.before,
            "after": event.after,
            "hash": event.hash,
        },
        cls=DjangoJSONEncoder,
        sort_keys=True,
    ).encode()


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None
    error: str
    ms: int


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the address the egress guard checked, verifying the certificate for
    the host name of the URL (so a second DNS answer cannot redirect it)."""

    def __init__(self, host: str, port: int, address: str, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """One context per process (loading the system's CAs takes 25 ms: not per delivery)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def post(url: str, body: bytes, headers: dict[str, str]) -> Attempt:
    """POST ``body`` to ``url`` through the egress guard. Never raises for the network:
    the outcome is an Attempt (2xx is success; nothing else, not even a redirect)."""
    started = time.monotonic()

    def done(ok: bool, status: int | None, error: str) -> Attempt:
        return Attempt(ok, status, error[:300], int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    if parts.scheme != "https":
        return done(False, None, "Refused: only https URLs are delivered to.")
    try:
        host, port, addresses = check_egress(url, settings.GATEHOUSE_WEBHOOK_ALLOW)
    except UnsafeURL as exc:
        return done(False, None, f"Refused by the egress guard: {exc}")
    except RepositoryUnreachable:
        return done(False, None, "The host did not resolve.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    context = _tls_context(settings.GATEHOUSE_WEBHOOK_CA_FILE)
    connection = _PinnedHTTPSConnection(
        host, port, addresses[0] if addresses else host,
        timeout=settings.GATEHOUSE_WEBHOOK_TIMEOUT, context=context,
    )  # fmt: skip
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(4096)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        log.warning("webhook to %s failed: %s", url, exc)
        return done(False, None, f"Could not deliver: {type(exc).__name__}.")
    finally:
        connection.close()
    return done(200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}")


def _claim(subscription_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        WebhookSubscription.objects.filter(pk=subscription_id, is_active=True)
        .filter(Q(lease_expires_at=None) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner))
        .update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
    )


def _release(subscription_id: int, owner: str) -> None:
    WebhookSubscription.objects.filter(pk=subscription_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600.0, settings.GATEHOUSE_WEBHOOK_RETRY_SECONDS * 2**attempts))


def _record(delivery: WebhookDelivery, attempt: Attempt, owner: str) -> bool:
    """Store one attempt; on failure count it against the subscription and disable that
    at the limit. Returns whether the sender should go on to the next delivery."""
    now = timezone.now()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(
            pk=delivery.subscription_id
        )
        if subscription.lease_owner != owner:
            return False  # our lease expired and someone else took over: they record
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.response_code = attempt.status
        delivery.error = attempt.error
        delivery.duration_ms = attempt.ms
        fields = ["attempts", "last_attempt_at", "response_code", "error", "duration_ms"]
        if attempt.ok:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            fields += ["state", "delivered_at"]
            subscription.failures = 0
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts - 1)
            fields.append("next_attempt_at")
            subscription.failures += 1
        subscription.lease_expires_at = now + timedelta(seconds=LEASE_SECONDS)
        delivery.save(update_fields=fields)
        subscription.save(update_fields=["failures", "lease_expires_at"])
        if subscription.failures >= settings.GATEHOUSE_WEBHOOK_MAX_FAILURES:
            reason = f"{subscription.failures} failed attempts in a row (last: {attempt.error})"
            subscription.is_active = False
            subscription.disabled_reason = reason[:300]
            subscription.save(update_fields=["is_active", "disabled_reason"])
            subscription_audit(
                subscription=subscription, actor=None, action="disabled", reason=reason
            )
    return attempt.ok


def webhooks_deliver(*, subscription_id: int, owner: str | None = None, limit: int = 200) -> int:
    """Send a subscription's due deliveries in event order, one at a time, stopping at the
    first failure (it is retried after its backoff, before anything after it). Holds the
    subscription's lease meanwhile; a sender that finds it held by a live sender returns
    at once. Network work happens outside any transaction. Returns deliveries made."""
    owner = owner or f"sender:{uuid.uuid4().hex}"
    if not _claim(subscription_id, owner):
        return 0
    delivered = 0
    try:
        for _ in range(limit):
            delivery = (
                WebhookDelivery.objects.filter(
                    subscription_id=subscription_id, state=DeliveryState.PENDING
                )
                .select_related("event", "subscription")
                .order_by("event__seq")
                .first()
            )
            if delivery is None or delivery.next_attempt_at > timezone.now():
                break
            subscription = delivery.subscription
            if not subscription.is_active:
                break
            body = payload(delivery.event, delivery)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Gatehouse-Webhook",
                "X-Gatehouse-Event": delivery.event.action,
                "X-Gatehouse-Delivery": str(delivery.pk),
                SIGNATURE_HEADER: signature(subscription_secret(subscription), body),
            }
            attempt = post(subscription.url, body, headers)
            if not _record(delivery, attempt, owner):
                break
            delivered += 1
    finally:
        _release(subscription_id, owner)
    return delivered
