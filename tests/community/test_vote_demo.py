from io import StringIO

from django.core.management import call_command

from community.enums import VoteState
from community.models import Ballot, PromotionVote
from governance.enums import CommunityRole
from governance.models import ComponentRole
from notifications.enums import Kind
from notifications.models import Notification
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture


def test_the_demo_has_a_vote_in_progress_once_however_often_it_is_seeded(
    db,
    demo_settings,  # noqa: F811
):
    seed()
    call_command("seed_demo_releases", stdout=StringIO())
    call_command("seed_demo_votes", stdout=StringIO())
    call_command("seed_demo_votes", stdout=StringIO())  # idempotent

    vote = PromotionVote.objects.get()
    assert (vote.component.slug, vote.candidate.username, vote.role) == ("mq-core", "leo",
                                                                         "committer")  # fmt: skip
    assert vote.state == VoteState.OPEN and vote.from_role == CommunityRole.CONTRIBUTOR
    assert list(Ballot.objects.values_list("voter__username", "value")) == [("alice", 1)]
    pmc = ComponentRole.objects.filter(component=vote.component, role=CommunityRole.PMC)
    assert pmc.count() >= 3

    call_command("seed_demo_notifications", stdout=StringIO())
    told = set(Notification.objects.filter(kind=Kind.VOTE).values_list("user__username", flat=True))
    assert {"tina", "sam"} <= told and "leo" not in told
