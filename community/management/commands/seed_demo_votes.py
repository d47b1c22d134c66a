"""A promotion vote in progress for the demo: on mq-core (released by ``seed_demo_sync``),
alice proposes leo, a contributor, for committer and votes +1; tina and sam, on the PMC
with her, have it on their bell and can vote (three +1 pass it when the 72 hours end).

Run by ``make setup`` after ``seed_demo_sync`` and before ``seed_demo_notifications`` (which
fans the vote out to the PMC). Through the real services, so every step is audited.
Idempotent: roles already held are left alone, and a vote on leo that exists (in any
state) is not opened again.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from community.models import Ballot, PromotionVote
from community.votes import vote_cast, vote_open
from core.management.demo import DemoCommand
from governance.enums import CommunityRole
from governance.models import Component, ComponentRole
from governance.services import component_role_set

COMPONENT = "mq-core"
#: At least three PMC members, so that the vote can pass; leo earns committer.
ROLES = {
    "alice": CommunityRole.PMC,
    "tina": CommunityRole.PMC,
    "sam": CommunityRole.PMC,
    "leo": CommunityRole.CONTRIBUTOR,
}
PROPOSER, CANDIDATE = "alice", "leo"
REASON = (
    "Leo reviewed the licence headers of every release since 1.0.0 and fixed the client "
    "API's documentation upstream; it is time he merges what he reviews."
)
BALLOT = "+1: his reviews are careful and on time."


class Command(DemoCommand):
    help = "Open a promotion vote on mq-core with one +1 for the demo (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        admin = User.objects.filter(username="admin", is_superuser=True).first()
        users = {u.username: u for u in User.objects.filter(username__in=ROLES)}
        if admin is None or len(users) < len(ROLES):
            raise CommandError("Run seed_demo first: the demo users are missing.")
        component = Component.objects.filter(slug=COMPONENT).first()
        if component is None:
            self.stdout.write(f"  {COMPONENT}: skipped (run seed_demo first)")
            return
        for username, role in ROLES.items():
            user = users[username]
            if not ComponentRole.objects.filter(component=component, user=user).exists():
                component_role_set(component=component, user=user, role=role, actor=admin)
        candidate = users[CANDIDATE]
        vote = PromotionVote.objects.filter(component=component, candidate=candidate).first()
        if vote is not None:
            self.stdout.write(
                f"  {COMPONENT}: vote on {CANDIDATE} skipped (it exists: {vote.state})"
            )
            return
        vote = vote_open(
            component=component, candidate=candidate, role=CommunityRole.COMMITTER,
            actor=users[PROPOSER], reason=REASON,
        )  # fmt: skip
        if not Ballot.objects.filter(vote=vote, voter=users[PROPOSER]).exists():
            vote_cast(vote=vote, voter=users[PROPOSER], value=1, comment=BALLOT)
        self.stdout.write(
            f"  {COMPONENT}: vote on {CANDIDATE} for committer open until "
            f"{vote.closes_at:%Y-%m-%d %H:%M} UTC, 1 × +1 of {vote.plus_ones_needed}"
        )
