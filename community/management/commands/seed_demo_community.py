"""The demo's community: two events on mq-core (a code lab last week, with its report,
and a meetup in Berlin next week), alice subscribed to the portfolio's and mq-core's
digests, and last week's digests of the released components (rpc-interfaces and mq-core,
published by ``seed_demo_sync``) and of the portfolio.

The demo's community commits are made when ``seed_demo_sync`` runs, so they usually fall
in the current week, not the last: when last week's digests hold no community commit,
the week the newest community commit is in is built too (the current week, even before
it ends), so the demo shows a digest with community commits and a first-time contributor.

Run by ``make setup`` after ``seed_demo_sync``. Through the real services, so every step
is audited. Idempotent: an event whose title exists is left alone, a subscription held
stays one, and building a week again updates its digest in place.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

from community import health
from community.digest import (
    digest_build,
    last_full_week,
    released_components,
    week_name,
    week_start,
)
from community.enums import EventKind
from community.models import Event
from community.services import digest_subscribe, event_create
from core.management.demo import DemoCommand
from governance.models import Component

COMPONENT = "mq-core"
SUBSCRIBER = "alice"
CODE_LAB = "mq-core code lab: publishing with the client API"
CODE_LAB_REPORT = (
    "Fourteen people joined. We walked through publish() and its retries, found a gap in the "
    "docs on connection loss (a contributor has since documented it upstream) and agreed to "
    "hold the next lab on consumer groups."
)
MEETUP = "mq-core meetup Berlin"


class Command(DemoCommand):
    help = "Events, a subscription and last week's digests for the demo (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        admin = User.objects.filter(username="admin", is_superuser=True).first()
        alice = User.objects.filter(username=SUBSCRIBER).first()
        component = Component.objects.filter(slug=COMPONENT).first()
        if admin is None or alice is None or component is None:
            raise CommandError("Run seed_demo, seed_demo_releases and seed_demo_sync first.")
        released = list(released_components())
        if not released:
            raise CommandError("No component is released yet: run seed_demo_sync first.")
        self._events(admin, component)
        digest_subscribe(user=alice, component=None)
        digest_subscribe(user=alice, component=component)
        self.stdout.write(
            f"  {SUBSCRIBER}: subscribed to the portfolio's and {COMPONENT}'s digests"
        )

        last = last_full_week()
        weeks = [last]
        built = self._build(last, released)
        if not built:
            newest = self._newest_community_week(released)
            if newest is not None and newest != last:
                self.stdout.write(
                    f"  {week_name(last)} has no community commit: the demo's fall in "
                    f"{week_name(newest)}, built too"
                )
                weeks.append(newest)
                self._build(newest, released)
        self.stdout.write(f"  digests: {', '.join(week_name(w) for w in weeks)} for "
                          f"{', '.join(c.slug for c in released)} and the portfolio")  # fmt: skip

    def _events(self, admin, component: Component) -> None:
        monday = week_start(timezone.now())
        if not Event.objects.filter(title=CODE_LAB).exists():
            starts = datetime.combine(monday - timedelta(days=5), time(14, 0), tzinfo=UTC)
            event_create(
                actor=admin, title=CODE_LAB, kind=EventKind.CODE_LAB, starts_at=starts,
                ends_at=starts + timedelta(hours=2), time_zone="UTC", place="Online",
                link="https://meet.example.org/mq-core-lab",
                description="Hands-on: publish, retry and consume with the mq-core client.",
                report=CODE_LAB_REPORT, components=[component],
            )  # fmt: skip
            self.stdout.write(f"  event: {CODE_LAB} (last week, with its report)")
        if not Event.objects.filter(title=MEETUP).exists():
            berlin = ZoneInfo("Europe/Berlin")
            starts = datetime.combine(monday + timedelta(days=10), time(18, 30), tzinfo=berlin)
            event_create(
                actor=admin, title=MEETUP, kind=EventKind.MEETUP, starts_at=starts,
                ends_at=starts + timedelta(hours=2, minutes=30), time_zone="Europe/Berlin",
                place="Berlin, Alexanderplatz 1 (3rd floor)",
                link="https://meetup.example.org/mq-core-berlin",
                description="Talks on running mq-core in production, then drinks.",
                components=[component],
            )  # fmt: skip
            self.stdout.write(f"  event: {MEETUP} (next week)")

    def _build(self, monday, released) -> int:
        """Build the week's digests; the number of community commits they found."""
        commits = 0
        for component in released:
            digest = digest_build(week=monday, component=component)
            commits += sum(a["commits"] for a in digest.facts["activity"])
        digest_build(week=monday, component=None)
        return commits

    def _newest_community_week(self, released):
        histories = health.community_histories(released)
        dates = [c.at for h in histories.values() for c in h.commits]
        return week_start(max(dates)) if dates else None
