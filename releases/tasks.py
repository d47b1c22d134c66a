from celery import shared_task

from releases import services


@shared_task(name="releases.lapse_expired_waivers", acks_late=True)
def lapse_expired_waivers() -> int:
    """Beat, every few minutes: expired waivers stop counting and their gates re-block."""
    return services.waivers_lapse()
