from datetime import timedelta

from django.conf import settings
from django.core import mail
from django.utils import timezone

from config.celery import app as celery_app
from reviews.models import ReviewTicket
from reviews.notifications import (
    notify_submitter_of_decision,
    notify_ticket_reviewers,
    remind_overdue_tickets,
)
from reviews.services import signoff_create
from tests.conftest import submit


def test_reviewer_notification_is_sent_once_per_claim(world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="legal")
    mail.outbox.clear()

    assert notify_ticket_reviewers(ticket_id=ticket.pk) == 1
    assert notify_ticket_reviewers(ticket_id=ticket.pk) == 0
    assert [m.to for m in mail.outbox] == [["leo@example.com"]]
    assert ticket.get_absolute_url() in mail.outbox[0].body


def test_reviewers_who_own_the_component_are_not_mailed(world, repo):
    world.alice.groups.add(world.group("legal"))
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="legal")
    mail.outbox.clear()
    notify_ticket_reviewers(ticket_id=ticket.pk)
    assert [m.to for m in mail.outbox] == [["leo@example.com"]]


def test_submitter_hears_about_requested_changes_with_the_comment(world, repo):
    submission = submit(world, repo)
    ticket = submission.tickets.get(department__slug="security")
    signoff = signoff_create(
        ticket=ticket, actor=world.reviewers["security"], decision="request_changes",
        comment="Purge the token from history.",
    )  # fmt: skip
    mail.outbox.clear()
    assert notify_submitter_of_decision(signoff_id=signoff.pk) == 1
    assert notify_submitter_of_decision(signoff_id=signoff.pk) == 0
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "request changes" in message.subject and "Purge the token" in message.body


def test_overdue_tickets_are_reminded_once_a_day(world, repo):
    submission = submit(world, repo)
    legal = submission.tickets.get(department__slug="legal")
    sla = legal.department.sla_days
    ReviewTicket.objects.filter(pk=legal.pk).update(
        created_at=timezone.now() - timedelta(days=sla + 1)
    )
    mail.outbox.clear()

    assert remind_overdue_tickets() == 1
    assert remind_overdue_tickets() == 0
    assert mail.outbox[0].to == ["leo@example.com"] and "Overdue" in mail.outbox[0].subject

    ReviewTicket.objects.filter(pk=legal.pk).update(
        reminded_at=timezone.now() - timedelta(days=1, hours=1)
    )
    assert remind_overdue_tickets() == 1


def test_reminder_runs_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["remind-overdue-tickets"]
    assert entry["task"] in celery_app.tasks
