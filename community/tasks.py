"""Celery tasks: thin wrappers that call one service each."""

from celery import shared_task

from community import votes
from core.mailing import mail_task_options

# --------------------------------------------------------------------------- promotion votes


@shared_task(name="community.close_due_votes", acks_late=True, ignore_result=True)
def close_due_votes() -> int:
    """Beat, every five minutes: decide every vote whose window has ended (idempotent)."""
    return votes.votes_close_due()


# --------------------------------------------------------------------------- weekly digests


@shared_task(name="community.build_weekly_digests", acks_late=True, ignore_result=True)
def build_weekly_digests(*, week: str = "") -> int:
    """Beat, Mondays: last ISO week's digest of every released component and of the
    portfolio (``week``, e.g. "2026-W48", for another), then each one's e-mail, queued
    after the digests are stored. Idempotent: a week rebuilt is mailed once."""
    from django.db import transaction

    from community.digest import digests_build_week, parse_week

    built = digests_build_week(week=parse_week(week) if week else None)
    for digest in built:
        transaction.on_commit(lambda pk=digest.pk: email_digest.delay(digest_id=pk))
    return len(built)


@shared_task(name="community.email_digest", ignore_result=True, **mail_task_options())
def email_digest(*, digest_id: int) -> int:
    """E-mail one digest to its subscribers, once (community.digest.digests_email)."""
    from community.digest import digests_email
    from community.models import WeeklyDigest

    digest = WeeklyDigest.objects.select_related("component").filter(pk=digest_id).first()
    if digest is None:
        return 0
    return digests_email(digest=digest)
