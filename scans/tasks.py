from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from scans import services


@shared_task(
    name="scans.run_scan",
    bind=True,
    acks_late=True,
    ignore_result=True,
    # A lost database connection or a restarting database: tried again with backoff. A
    # retry keeps the task id, so it takes its own lease back at once.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    soft_time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT + 60,
    time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT + 120,
)
def run_scan(self, *, scan_id: int) -> str:
    owner = f"task:{self.request.id}" if self.request.id else None
    scan = services.scan_execute(scan_id=scan_id, owner=owner)
    return scan.status if scan else "skipped"


@shared_task(name="scans.requeue_stalled", ignore_result=True)
def requeue_stalled() -> dict[str, int]:
    """Every minute (beat): scans whose worker died are queued again, or failed."""
    return services.scans_requeue_stalled()
