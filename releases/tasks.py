from celery import shared_task

from core import leases
from governance.models import Component
from releases import services


@shared_task(name="releases.lapse_expired_waivers", acks_late=True)
def lapse_expired_waivers() -> int:
    """Beat, every few minutes: expired waivers stop counting and their gates re-block."""
    return services.waivers_lapse()


@shared_task(name="releases.run_git_job", ignore_result=True, **leases.task_options())
def run_git_job(self, *, job_id: int) -> str:
    """Publish, sync or back-port (``releases.jobs``)."""
    from releases.jobs import git_job_execute

    job = git_job_execute(job_id=job_id, owner=leases.task_owner(self))
    return job.status if job else "skipped"


@shared_task(name="releases.requeue_stalled_git_jobs", ignore_result=True)
def requeue_stalled_git_jobs() -> dict[str, int]:
    """Every minute (beat): git jobs whose worker died are queued again, or failed."""
    from releases.jobs import git_jobs_requeue_stalled

    return git_jobs_requeue_stalled()


@shared_task(name="releases.sync_all_components", acks_late=True)
def sync_all_components() -> int:
    """Beat, every GATEHOUSE_SYNC_INTERVAL: a sync job per component with both sides (one
    already queued or running for a component stands for it)."""
    from releases.jobs import sync_request
    from releases.sync import components_to_sync

    queued = 0
    for component in Component.objects.filter(pk__in=components_to_sync()).iterator():
        queued += sync_request(component=component, actor=None, trigger="schedule")[1]
    return queued


@shared_task(name="releases.refresh_chart_summary", acks_late=True)
def refresh_chart_summary() -> None:
    """Queued (debounced) after changes the charts count: recompute the portfolio-wide
    figures. Idempotent."""
    from releases.summaries import chart_summary_refresh

    chart_summary_refresh()
