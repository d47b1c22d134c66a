"""Celery tasks: thin wrappers that look up by id and call one service."""

from celery import shared_task

from reviews import notifications


@shared_task(name="reviews.notify_ticket_reviewers", acks_late=True, ignore_result=True)
def notify_ticket_reviewers(*, ticket_id: int) -> int:
    return notifications.notify_ticket_reviewers(ticket_id=ticket_id)


@shared_task(name="reviews.notify_submitter_of_decision", acks_late=True, ignore_result=True)
def notify_submitter_of_decision(*, signoff_id: int) -> int:
    return notifications.notify_submitter_of_decision(signoff_id=signoff_id)


@shared_task(name="reviews.remind_overdue_tickets", acks_late=True, ignore_result=True)
def remind_overdue_tickets() -> int:
    return notifications.remind_overdue_tickets()
