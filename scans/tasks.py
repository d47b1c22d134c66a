from celery import shared_task
from django.conf import settings

from scans import services


@shared_task(
    name="scans.run_scan",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT + 60,
    time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT + 120,
)
def run_scan(*, scan_id: int) -> str:
    scan = services.scan_execute(scan_id=scan_id)
    return scan.status if scan else "skipped"
