from celery import shared_task

from releases import services


@shared_task(name="releases.lapse_expired_waivers", acks_late=True)
def lapse_expired_waivers() -> int:
    """Beat, every few minutes: expired waivers stop counting and their gates re-block."""
    return services.waivers_lapse()


@shared_task(name="releases.sync_component", acks_late=True, time_limit=1800)
def sync_component(*, component_id: int, trigger: str = "schedule") -> str:
    """Sync one component; a sync already running on it makes this one a no-op."""
    from releases.sync import component_sync

    state = component_sync(component_id=component_id, trigger=trigger)
    return state.status if state else "skipped"


@shared_task(name="releases.sync_all_components", acks_late=True)
def sync_all_components() -> int:
    """Beat, every GATEHOUSE_SYNC_INTERVAL: one sync task per component with both sides."""
    from releases.sync import components_to_sync

    ids = components_to_sync()
    for pk in ids:
        sync_component.delay(component_id=pk, trigger="schedule")
    return len(ids)


@shared_task(name="releases.refresh_chart_summary", acks_late=True)
def refresh_chart_summary() -> None:
    """Queued (debounced) after changes the charts count: recompute the portfolio-wide
    figures. Idempotent."""
    from releases.summaries import chart_summary_refresh

    chart_summary_refresh()
