"""Celery tasks: thin wrappers that call one service each."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from integrations import services


@shared_task(
    name="integrations.process_delivery", acks_late=True, ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, max_retries=5,
    soft_time_limit=300, time_limit=330,
)  # fmt: skip
def process_delivery(*, delivery_id: int) -> None:
    services.delivery_process(delivery_id=delivery_id)


@shared_task(name="integrations.requeue_stalled_deliveries", acks_late=True, ignore_result=True)
def requeue_stalled_deliveries() -> int:
    return services.deliveries_requeue_stalled()
