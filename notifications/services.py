"""Writes of the notifications app: the outbox, reading, preferences, e-mail, escalation.

The outbox is the one way anything here learns of a change. The audit chain is written
in the same transaction as every state change, and its sequence numbers are handed out
under a lock on the chain head, so once event N is visible every event before it is
visible too and nothing rolled back ever gets a number that stays. Reading the chain
past a cursor, and advancing the cursor in the same transaction as the notifications and
webhook deliveries derived from it, fans every committed event out exactly once, in
order. What leaves the database afterwards (e-mail, webhooks) is sent at least once.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEvent
from core.validators import one_line
from notifications import fanout
from notifications.enums import DEFAULT_CHANNELS, Channel, Kind
from notifications.models import (
    Escalation,
    Notification,
    OutboxCursor,
    Preference,
    WebhookDelivery,
    WebhookSubscription,
)
from reviews.enums import DECIDABLE_SUBMISSION_STATES, PENDING_TICKET_STATES
from reviews.models import ReviewTicket

log = logging.getLogger(__name__)

OUTBOX = "outbox"


def absolute(path: str) -> str:
    return settings.GATEHOUSE_BASE_URL.rstrip("/") + path


# --------------------------------------------------------------------------- the outbox


def channels_for(users: list, kind: str) -> dict[int, str]:
    """Each person's channel for ``kind``: their preference, else the kind's default
    (read once per person and kind within a drain)."""
    known = fanout.drain_memo()
    missing = [user.pk for user in users if ("channel", user.pk, kind) not in known]
    if missing:
        chosen = dict(
            Preference.objects.filter(user__in=missing, kind=kind).values_list("user_id", "channel")
        )
        for pk in missing:
            known["channel", pk, kind] = chosen.get(pk, DEFAULT_CHANNELS[kind])
    return {user.pk: known["channel", user.pk, kind] for user in users}


def _notifications_for(event: AuditEvent) -> list[Notification]:
    """The event's notifications; who may see what is asked once per person and object
    within a drain (``fanout.one_drain``)."""
    told: set[int] = set()
    rows = []
    for message in fanout.messages_for(event):
        people = []
        for user in message.users:
            if user.pk == event.actor_id or user.pk in told:
                continue
            key = ("sight", user.pk, *message.can_see.key)
            if fanout.remembered(key, partial(message.can_see, user)):
                people.append(user)
                told.add(user.pk)
        channels = channels_for(people, message.kind)
        for user in people:
            if channels[user.pk] == Channel.OFF:
                continue
            rows.append(
                Notification(
                    user=user,
                    event=event,
                    kind=message.kind,
                    channel=channels[user.pk],
                    title=one_line(message.title)[:300],
                    body=message.body,
                    url=message.url[:300],
                    created_at=event.created_at,
                )  # fmt: skip
            )
    return rows


def subscribed(patterns: list[str], action: str) -> bool:
    family = action.split(".")[0] + ".*"
    return any(p in ("*", action, family) for p in patterns)


def outbox_drain(*, limit: int = 500) -> int:
    """Fan out up to ``limit`` audit events past the outbox cursor: notifications for the
    people each concerns, a delivery for every active webhook subscription that wants it.

    One transaction with the cursor row locked, so two drains never fan out one event
    twice. Queues, on commit, the e-mails of immediate notifications, a sender per
    subscription with new deliveries, and another drain when there is more to read.
    Idempotent. Returns the number of events read.
    """
    OutboxCursor.objects.get_or_create(name=OUTBOX)
    try:
        return _drain(limit)
    except IntegrityError:
        # Only where the cursor row cannot be locked (SQLite): a drain running beside this
        # one wrote the same rows first. The unique constraints refused ours; nothing lost.
        log.info("outbox: another drain fanned these events out first")
        return 0


def _drain(limit: int) -> int:
    with transaction.atomic():
        cursor = OutboxCursor.objects.select_for_update().get(name=OUTBOX)
        events = list(AuditEvent.objects.filter(seq__gt=cursor.last_seq).order_by("seq")[:limit])
        if not events:
            return 0
        subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
        notifications, deliveries = [], []
        with fanout.one_drain():
            for event in events:
                notifications += _notifications_for(event)
                deliveries += [
                    WebhookDelivery(subscription=s, event=event, next_attempt_at=event.created_at)
                    for s in subscriptions
                    if event.seq > s.after_seq and subscribed(s.events, event.action)
                ]
        Notification.objects.bulk_create(notifications)
        WebhookDelivery.objects.bulk_create(deliveries)
        cursor.last_seq = events[-1].seq
        cursor.save(update_fields=["last_seq", "updated_at"])
        _queue_after_drain(
            mail=[n.pk for n in notifications if n.channel == Channel.IMMEDIATE],
            subscriptions={d.subscription_id for d in deliveries},
            more=len(events) == limit,
        )
    return len(events)


def _queue_after_drain(*, mail: list[int], subscriptions: set[int], more: bool) -> None:
    from notifications import tasks

    for pk in mail:
        transaction.on_commit(partial(tasks.send_notification_email.delay, notification_id=pk))
    for pk in sorted(subscriptions):
        transaction.on_commit(partial(tasks.deliver_webhooks.delay, subscription_id=pk))
    if more:
        transaction.on_commit(tasks.drain_outbox.delay)


def outbox_lag() -> int:
    """Events committed but not fanned out yet (for /metrics and the health page)."""
    cursor = OutboxCursor.objects.filter(name=OUTBOX).values_list("last_seq", flat=True).first()
    newest = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    return max(0, newest - (cursor or 0))


# --------------------------------------------------------------------------- reading


def notification_mark_read(*, notification: Notification, user) -> bool:
    """Mark one of ``user``'s notifications read; False when it already was (or is not
    theirs: the caller looked it up among theirs). Idempotent."""
    return bool(
        Notification.objects.filter(pk=notification.pk, user=user, read_at=None).update(
            read_at=timezone.now()
        )
    )


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of ``user`` read. Returns how many. Idempotent."""
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())


def preferences_set(*, user, channels: dict[str, str]) -> dict[str, str]:
    """Set ``user``'s channel per kind (kinds left out keep theirs). A kind or channel that
    does not exist is refused whole, before anything is written."""
    problems = {}
    for kind, channel in channels.items():
        if kind not in Kind.values:
            problems[kind] = ["No such kind of notification."]
        elif channel not in Channel.values:
            problems[kind] = [f"Choose one of: {', '.join(Channel.values)}."]
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        for kind, channel in channels.items():
            Preference.objects.update_or_create(user=user, kind=kind, defaults={"channel": channel})
    return preferences_of(user)


def preferences_of(user) -> dict[str, str]:
    chosen = dict(Preference.objects.filter(user=user).values_list("kind", "channel"))
    return {kind: chosen.get(kind, DEFAULT_CHANNELS[kind]) for kind in Kind.values}


# --------------------------------------------------------------------------- e-mail


def _claim_mail(ids: list[int]) -> tuple[list[Notification], object]:
    """Claim unsent notifications by a compare-and-swap on ``emailed_at``: a task run twice,
    or two workers, send each once. Returns the claimed rows and the claim's time."""
    now = timezone.now()
    claimed = Notification.objects.filter(pk__in=ids, emailed_at=None).update(emailed_at=now)
    if not claimed:
        return [], now
    rows = Notification.objects.filter(pk__in=ids, emailed_at=now).select_related("user")
    return list(rows), now


def _release_claim(rows: list[Notification], at) -> None:
    Notification.objects.filter(pk__in=[n.pk for n in rows], emailed_at=at).update(emailed_at=None)


def notification_email(*, notification_id: int) -> int:
    """E-mail one immediate notification to its person, once. Unread only: what they already
    read in the app is not mailed. If sending fails the claim is released and the error
    propagates, so a retry sends it. Returns mails sent (0/1)."""
    rows, at = _claim_mail([notification_id])
    if not rows:
        return 0
    (note,) = rows
    if note.read_at is not None or not note.user.email:
        return 0
    body = f"{note.body}\n\n" if note.body else ""
    try:
        send_mail(
            subject=one_line(f"[Gatehouse] {note.title}"),
            message=f"{note.title}\n\n{body}{absolute(note.url) if note.url else ''}\n\n"
            f"Choose what you are told, and how: {absolute('/notifications/preferences/')}\n",
            from_email=None,
            recipient_list=[note.user.email],
        )
    except Exception:
        _release_claim(rows, at)
        raise
    return 1


def daily_digest_send() -> int:
    """E-mail each person one message listing their unread daily-digest notifications,
    then mark them mailed (read ones are marked without being mailed). Each person's batch
    is claimed first, so a second run (or the task's retry when the relay went down
    half-way) sends nothing twice; an address the relay refuses is passed over and tried
    again the next day. Returns mails sent."""
    pending = Notification.objects.filter(channel=Channel.DAILY, emailed_at=None)
    by_user: dict[int, list[int]] = defaultdict(list)
    for pk, user_id in pending.values_list("pk", "user_id"):
        by_user[user_id].append(pk)
    sent = 0
    for ids in by_user.values():
        rows, at = _claim_mail(ids)
        unread = sorted((n for n in rows if n.read_at is None), key=lambda n: n.created_at)
        if not unread or not unread[0].user.email:
            continue
        lines = [f"- {n.title}\n  {absolute(n.url)}" if n.url else f"- {n.title}" for n in unread]
        try:
            send_mail(
                subject=f"[Gatehouse] Your daily digest: {len(unread)} notifications",
                message="\n".join(lines) + f"\n\nAll of them: {absolute('/notifications/')}\n"
                f"Choose what you are told, and how: {absolute('/notifications/preferences/')}\n",
                from_email=None,
                recipient_list=[unread[0].user.email],
            )
        except smtplib.SMTPRecipientsRefused:
            _release_claim(rows, at)  # tried again at the next day's run
            log.warning("daily digest: the relay refused %s's address", unread[0].user)
            continue
        except Exception:
            _release_claim(rows, at)
            raise
        sent += 1
    return sent


# --------------------------------------------------------------------------- escalation


def tickets_escalate(*, now=None) -> int:
    """Escalate every ticket still waiting past its department's SLA (level 1: its
    reviewers are told) or past twice the SLA (level 2: the department's leads). Each
    level is an audit event ("ticket.overdue"), so the outbox tells the people; the unique
    escalation row makes each level happen once, however often this runs. Returns the
    number of escalations made."""
    now = now or timezone.now()
    waiting = ReviewTicket.objects.filter(
        state__in=PENDING_TICKET_STATES, submission__state__in=DECIDABLE_SUBMISSION_STATES
    ).select_related("department", "submission__component")
    done = set(Escalation.objects.filter(ticket__in=waiting).values_list("ticket_id", "level"))
    made = 0
    for ticket in waiting.iterator(chunk_size=500):
        sla = timedelta(days=ticket.department.sla_days)
        for level in (1, 2):
            if (ticket.pk, level) in done or ticket.created_at + sla * level > now:
                continue
            try:
                with transaction.atomic():
                    Escalation.objects.create(ticket=ticket, level=level)
                    audit_record(
                        actor=None, action="ticket.overdue", obj=ticket,
                        after={"level": level, "days": (now - ticket.created_at).days,
                               "sla_days": ticket.department.sla_days},
                        scope=ticket.submission.component.audit_scope,
                    )  # fmt: skip
            except IntegrityError:
                continue  # another pass escalated it meanwhile
            made += 1
    return made


# --------------------------------------------------------------------------- subscriptions


def subscription_audit(
    *, subscription: WebhookSubscription, actor, action: str, **after
) -> AuditEvent:
    return audit_record(
        actor=actor, action=f"webhook.{action}", obj=subscription,
        after={"url": subscription.url, "events": subscription.events, **after},
    )  # fmt: skip


def deliveries_due(*, now=None) -> list[int]:
    """Active subscriptions with a delivery whose time has come (a retry, or one whose
    sender died): the beat hands each to a sender."""
    now = now or timezone.now()
    return sorted(
        set(
            WebhookDelivery.objects.filter(
                state="pending", next_attempt_at__lte=now, subscription__is_active=True
            ).values_list("subscription_id", flat=True)
        )
    )
