"""Notifications for the demo: what the seeded story tells each person (idempotent)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import Count, Q

from core.management.demo import DemoCommand
from governance.models import Department
from notifications.models import Notification
from notifications.services import outbox_drain, tickets_escalate
from reviews.enums import DECIDABLE_SUBMISSION_STATES
from reviews.models import Comment, Submission
from reviews.services import comment_create

#: A question the office is asked by name, so the demo has a mention in it.
MENTION = "@admin could the office confirm the NOTICE wording before we release? @bob FYI"


class Command(DemoCommand):
    help = "Fan the demo's audit events out to notifications, with a mention and escalations."

    def handle(self, *args, **options):
        users = {u.username: u for u in get_user_model().objects.filter(username__in=[
            "admin", "alice", "bob", "sam"])}  # fmt: skip
        if len(users) < 4:
            raise CommandError("Run seed_demo first.")
        # Security's lead: told when one of its tickets waits twice the SLA.
        Department.objects.get(slug="security").leads.add(users["sam"])
        submission = (
            Submission.objects.filter(
                state__in=DECIDABLE_SUBMISSION_STATES, submitted_by=users["alice"]
            )
            .order_by("created_at")
            .first()
        )
        if submission and not Comment.objects.filter(submission=submission, body=MENTION).exists():
            comment_create(submission=submission, actor=users["alice"], body=MENTION)
        tickets_escalate()
        events = 0
        while read := outbox_drain():
            events += read
        counts = (
            get_user_model()
            .objects.annotate(unread=Count("notifications", filter=Q(notifications__read_at=None)))
            .order_by("username")
            .values_list("username", "unread")
        )
        told = ", ".join(f"{name} {count}" for name, count in counts)
        self.stdout.write(
            f"Notifications: {events} events read; unread per person: {told}; "
            f"{Notification.objects.count()} in all."
        )
