"""E-mail to reviewers and submitters, sent by the Celery tasks.

Each sender first claims its row with a conditional UPDATE (compare-and-swap), so a
task delivered twice, or two workers racing, sends one e-mail; if sending fails the
claim is released and the error propagates, so a retry can send it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from core.validators import one_line
from reviews.enums import PENDING_TICKET_STATES
from reviews.models import ReviewTicket, SignOff


def _url(path: str) -> str:
    return settings.GATEHOUSE_BASE_URL.rstrip("/") + path


def _reviewer_addresses(ticket: ReviewTicket) -> list[str]:
    submission = ticket.submission
    excluded = {
        submission.submitted_by_id,
        *submission.component.owners.values_list("pk", flat=True),
    }
    return sorted(
        {
            user.email
            for user in ticket.department.reviewer_group.user_set.filter(is_active=True)
            if user.email and user.pk not in excluded
        }
    )


def notify_ticket_reviewers(*, ticket_id: int) -> int:
    """Tell a department's reviewers that a ticket waits for them. Returns mails sent (0/1)."""
    now = timezone.now()
    claimed = ReviewTicket.objects.filter(
        pk=ticket_id, notified_at__isnull=True, state__in=PENDING_TICKET_STATES
    ).update(notified_at=now)
    if not claimed:
        return 0
    ticket = ReviewTicket.objects.select_related(
        "department__reviewer_group", "submission__component", "submission__submitted_by"
    ).get(pk=ticket_id)
    recipients = _reviewer_addresses(ticket)
    if not recipients:
        return 0
    submission = ticket.submission
    try:
        send_mail(
            subject=one_line(
                f"[Gatehouse] {ticket.department} review needed: {submission.component}"
            ),
            message=(
                f"{submission.submitted_by.get_username()} submitted {submission.component} "
                f"for open-sourcing at commit {submission.commit} "
                f"(branch {submission.branch}).\n\n"
                f"Justification:\n{submission.justification}\n\n"
                f"Review it within {ticket.department.sla_days} days:\n"
                f"{_url(ticket.get_absolute_url())}\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:
        ReviewTicket.objects.filter(pk=ticket_id, notified_at=now).update(notified_at=None)
        raise
    return 1


def notify_submitter_of_decision(*, signoff_id: int) -> int:
    """Tell the submitter what a reviewer decided. Returns mails sent (0/1)."""
    now = timezone.now()
    if not SignOff.objects.filter(pk=signoff_id, notified_at__isnull=True).update(notified_at=now):
        return 0
    signoff = SignOff.objects.select_related(
        "reviewer",
        "ticket__department",
        "ticket__submission__component",
        "ticket__submission__submitted_by",
    ).get(pk=signoff_id)
    submission = signoff.ticket.submission
    address = submission.submitted_by.email
    if not address:
        return 0
    comment = f"\n\nComment:\n{signoff.comment}" if signoff.comment else ""
    try:
        send_mail(
            subject=one_line(
                f"[Gatehouse] {signoff.ticket.department}: {signoff.get_decision_display().lower()}"
                f" — {submission.component}"
            ),
            message=(
                f"{signoff.reviewer.get_username()} ({signoff.ticket.department}) decided "
                f"'{signoff.get_decision_display()}' on commit {signoff.commit[:10]}."
                f"{comment}\n\nThe submission: {_url(submission.get_absolute_url())}\n"
            ),
            from_email=None,
            recipient_list=[address],
        )
    except Exception:
        SignOff.objects.filter(pk=signoff_id, notified_at=now).update(notified_at=None)
        raise
    return 1


def remind_overdue_tickets() -> int:
    """Remind reviewers of tickets past their department's SLA, at most once a day each."""
    now = timezone.now()
    sent = 0
    overdue = ReviewTicket.objects.filter(state__in=PENDING_TICKET_STATES).select_related(
        "department__reviewer_group", "submission__component"
    )
    for ticket in overdue.iterator(chunk_size=500):
        if ticket.created_at + timedelta(days=ticket.department.sla_days) > now:
            continue
        claimed = (
            ReviewTicket.objects.filter(pk=ticket.pk, reminded_at=ticket.reminded_at)
            .exclude(reminded_at__gt=now - timedelta(hours=23))
            .update(reminded_at=now)
        )
        if not claimed:
            continue
        recipients = _reviewer_addresses(ticket)
        if recipients:
            days = (now - ticket.created_at).days
            send_mail(
                subject=one_line(
                    f"[Gatehouse] Overdue {ticket.department} review: {ticket.submission.component}"
                ),
                message=(
                    f"This review has waited {days} days (SLA {ticket.department.sla_days}).\n"
                    f"{_url(ticket.get_absolute_url())}\n"
                ),
                from_email=None,
                recipient_list=recipients,
            )
            sent += 1
    return sent
