from celery import shared_task

from core import leases
from scans import services


@shared_task(name="scans.run_scan", ignore_result=True, **leases.task_options())
def run_scan(self, *, scan_id: int) -> str:
    scan = services.scan_execute(scan_id=scan_id, owner=leases.task_owner(self))
    return scan.status if scan else "skipped"


@shared_task(name="scans.requeue_stalled", ignore_result=True)
def requeue_stalled() -> dict[str, int]:
    """Every minute (beat): scans whose worker died are queued again, or failed."""
    return services.scans_requeue_stalled()
