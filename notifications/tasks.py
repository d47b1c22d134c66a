"""Celery tasks: thin wrappers that call one service each."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core.mailing import mail_task_options
from notifications import services, webhooks

_TRANSIENT = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 2,
              "max_retries": 5}  # fmt: skip


@shared_task(name="notifications.drain_outbox", acks_late=True, ignore_result=True, **_TRANSIENT)
def drain_outbox() -> int:
    return services.outbox_drain()


@shared_task(name="notifications.send_email", ignore_result=True, **mail_task_options())
def send_notification_email(*, notification_id: int) -> int:
    return services.notification_email(notification_id=notification_id)


@shared_task(name="notifications.send_daily_digests", ignore_result=True, **mail_task_options())
def send_daily_digests() -> int:
    return services.daily_digest_send()


@shared_task(name="notifications.escalate_overdue_tickets", acks_late=True, ignore_result=True)
def escalate_overdue_tickets() -> int:
    return services.tickets_escalate()


@shared_task(
    name="notifications.deliver_webhooks", acks_late=True, ignore_result=True,
    soft_time_limit=600, time_limit=660, **_TRANSIENT,
)  # fmt: skip
def deliver_webhooks(*, subscription_id: int) -> int:
    return webhooks.webhooks_deliver(subscription_id=subscription_id)


@shared_task(name="notifications.deliver_due_webhooks", acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """Hand each subscription with a delivery due (a retry, or a sender that died) to a
    sender; one that is still being sent to is skipped by its lease."""
    due = services.deliveries_due()
    for pk in due:
        deliver_webhooks.delay(subscription_id=pk)
    return len(due)
