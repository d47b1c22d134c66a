"""Promotion votes: a PMC member proposes, the PMC votes for a window of hours, the
outcome changes the role; who sees what; every step audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from community import votes
from community.enums import VoteState
from community.models import Ballot, PromotionVote, VotePolicy
from community.tasks import close_due_votes
from core.models import AuditEvent
from governance.enums import CommunityRole
from governance.models import ComponentRole
from governance.services import component_role_set
from notifications.enums import Kind
from notifications.models import Notification
from notifications.services import outbox_drain
from tests.conftest import make_user, submit

PMC = ("petra", "paul", "pia", "quinn", "rita")


class Community:
    """A component (owned by alice) with five PMC members, a committer and a contributor
    (cody, the usual candidate)."""

    def __init__(self, world, repo):
        self.world = world
        self.component = submit(world, repo).component
        self.people = {}
        for name in PMC:
            self.name(name, CommunityRole.PMC)
        self.name("carl", CommunityRole.COMMITTER)
        self.name("cody", CommunityRole.CONTRIBUTOR)

    def __getitem__(self, name):
        return self.people[name]

    def name(self, username, role):
        user = self.people.get(username) or make_user(username)
        self.people[username] = user
        component_role_set(component=self.component, user=user, role=role, actor=self.world.admin)
        return user

    def role_of(self, username) -> str:
        row = ComponentRole.objects.filter(component=self.component, user=self[username]).first()
        return row.role if row else ""

    def propose(self, candidate="cody", role=CommunityRole.COMMITTER, by="petra"):
        actor = self.world.admin if by == "admin" else self[by]
        return votes.vote_open(
            component=self.component, candidate=self[candidate], role=role, actor=actor,
            reason="Reviewed forty pull requests and wrote the client's retry logic.",
        )  # fmt: skip

    def cast(self, vote, ballots: dict[str, int]):
        for name, value in ballots.items():
            comment = "Not yet: no review work." if value == -1 else "Well deserved."
            votes.vote_cast(vote=vote, voter=self[name], value=value, comment=comment)


@pytest.fixture
def community(world, repo) -> Community:
    return Community(world, repo)


def events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def after_window(vote, minutes=0):
    return vote.closes_at + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- outcomes


def test_three_plus_ones_pass_after_the_window_and_make_the_candidate_committer(community):
    start = last_seq()
    vote = community.propose()
    assert vote.closes_at == vote.opened_at + timedelta(hours=72)
    assert (vote.plus_ones_needed, vote.veto, vote.from_role) == (3, True, "contributor")
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})

    assert votes.votes_close_due(now=after_window(vote, -1)) == 0  # never early
    assert community.role_of("cody") == CommunityRole.CONTRIBUTOR
    assert votes.votes_close_due(now=after_window(vote)) == 1

    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED
    assert vote.result == {"+1": 3, "0": 0, "-1": 0, "reason": "3 × +1 (3 needed), no −1",
                           "applied": True}  # fmt: skip
    assert community.role_of("cody") == CommunityRole.COMMITTER
    trail = events_since(start)
    assert [e.action for e in trail] == [
        "vote.opened", "vote.cast", "vote.cast", "vote.cast", "vote.closed",
        "component.role_changed",
    ]  # fmt: skip
    opened, closed, changed = trail[0], trail[4], trail[5]
    assert opened.after["component"] == community.component.pk
    assert opened.after["candidate"] == "cody" and opened.after["role"] == "committer"
    assert opened.after["closes_at"] == vote.closes_at.isoformat()
    assert [e.after["voter"] for e in trail[1:4]] == ["petra", "paul", "pia"]
    assert closed.actor_name == "system"
    assert closed.after["result"] == "passed"
    assert closed.after["tally"] == {"+1": 3, "0": 0, "-1": 0}
    # The role change is recorded as the proposer's, the way the governance service audits.
    assert changed.actor_name == "petra"
    assert changed.after == {"user": "cody", "role": "committer"}


def test_one_minus_one_vetoes_four_plus_ones(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1, "quinn": 1, "rita": -1})
    assert votes.votes_close_due(now=after_window(vote)) == 1
    vote.refresh_from_db()
    assert vote.state == VoteState.FAILED
    assert vote.result["+1"] == 4 and vote.result["-1"] == 1
    assert vote.result["reason"] == "vetoed: 1 × −1"
    assert community.role_of("cody") == CommunityRole.CONTRIBUTOR
    closed = AuditEvent.objects.get(action="vote.closed")
    assert closed.after["result"] == "failed"
    promoted = AuditEvent.objects.filter(action="component.role_changed", after__role="committer")
    assert not promoted.filter(after__user="cody").exists()


def test_a_veto_changed_to_plus_one_before_the_close_no_longer_counts(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "rita": -1})
    votes.vote_cast(
        vote=vote, voter=community["rita"], value=1, comment="Convinced by the reviews."
    )
    votes.votes_close_due(now=after_window(vote))
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED
    assert vote.result["-1"] == 0
    casts = AuditEvent.objects.filter(action="vote.cast", after__voter="rita").order_by("seq")
    assert [e.after["value"] for e in casts] == [-1, 1]
    assert casts.last().before == {"value": -1, "comment_length": len("Not yet: no review work.")}


def test_too_few_plus_ones_when_the_window_ends_fail_and_leave_the_role(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 0})
    assert votes.votes_close_due(now=after_window(vote, 5)) == 1
    vote.refresh_from_db()
    assert vote.state == VoteState.FAILED
    assert vote.result["reason"] == "2 × +1 of 3 needed"
    assert community.role_of("cody") == CommunityRole.CONTRIBUTOR


def test_closing_twice_changes_nothing_the_second_time(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    now = after_window(vote)
    assert votes.votes_close_due(now=now) == 1
    seq = last_seq()
    assert votes.votes_close_due(now=now + timedelta(hours=1)) == 0
    again = votes.vote_close(vote=vote, now=now + timedelta(hours=2))
    assert again.state == VoteState.PASSED
    assert last_seq() == seq  # nothing recorded
    assert AuditEvent.objects.filter(action="vote.closed").count() == 1


def test_the_beat_task_closes_due_votes(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    PromotionVote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - timedelta(minutes=1))
    close_due_votes.delay()
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED
    assert community.role_of("cody") == CommunityRole.COMMITTER


def test_a_policy_of_the_component_decides_its_votes(community):
    VotePolicy.objects.create(component=community.component, hours=24, plus_ones_needed=2)
    vote = community.propose(candidate="carl", role=CommunityRole.PMC)
    assert vote.closes_at == vote.opened_at + timedelta(hours=24)
    assert vote.plus_ones_needed == 2
    # A later change of policy does not move the goalposts of a vote already open.
    VotePolicy.objects.filter(component=community.component).update(plus_ones_needed=4)
    community.cast(vote, {"petra": 1, "paul": 1})
    assert votes.votes_close_due(now=vote.opened_at + timedelta(hours=24)) == 1
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED
    assert community.role_of("carl") == CommunityRole.PMC


def test_without_veto_plus_ones_must_outnumber_minus_ones(community):
    VotePolicy.objects.create(component=community.component, plus_ones_needed=2, veto=False)
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": -1})
    votes.votes_close_due(now=after_window(vote))
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED


def test_the_default_window_comes_from_settings_when_a_component_has_no_policy(community, settings):
    settings.GATEHOUSE_VOTE_HOURS = 48
    vote = community.propose()
    assert vote.closes_at - vote.opened_at == timedelta(hours=48)


# --------------------------------------------------------------------------- the rules


def test_the_proposer_withdraws_and_nobody_else_may(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1})
    with pytest.raises(PermissionDenied):
        votes.vote_withdraw(vote=vote, actor=community["paul"])
    withdrawn = votes.vote_withdraw(vote=vote, actor=community["petra"], reason="Asked to wait.")
    assert withdrawn.state == VoteState.WITHDRAWN
    assert withdrawn.result["+1"] == 1
    assert withdrawn.result["reason"] == "withdrawn by petra: Asked to wait."
    event = AuditEvent.objects.get(action="vote.withdrawn")
    assert event.after["result"] == "withdrawn"
    assert event.after["component"] == community.component.pk
    with pytest.raises(ValidationError):
        votes.vote_cast(vote=withdrawn, voter=community["paul"], value=1)
    with pytest.raises(ValidationError, match="withdrawn already"):
        votes.vote_withdraw(vote=withdrawn, actor=community["petra"])
    # Withdrawn, a new vote on the same person may open.
    assert community.propose().state == VoteState.OPEN


def test_a_withdrawal_after_the_window_decides_the_vote_instead(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    PromotionVote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="decided, not withdrawn"):
        votes.vote_withdraw(vote=vote, actor=community["petra"])
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED
    assert community.role_of("cody") == CommunityRole.COMMITTER


def test_the_office_may_propose_and_withdraw_but_not_vote(community):
    vote = community.propose(by="admin")
    with pytest.raises(PermissionDenied):
        votes.vote_cast(vote=vote, voter=community.world.admin, value=1)
    assert votes.vote_withdraw(vote=vote, actor=community.world.admin).state == "withdrawn"


def test_only_pmc_members_propose_and_vote(community):
    with pytest.raises(PermissionDenied):
        community.propose(by="carl")
    vote = community.propose()
    for outsider in (community["carl"], community.world.alice):  # committer; owner
        with pytest.raises(PermissionDenied):
            votes.vote_cast(vote=vote, voter=outsider, value=1)
    assert not Ballot.objects.exists()


def test_the_candidate_does_not_vote_on_their_own_promotion_even_on_the_pmc(community):
    vote = community.propose()
    # Named PMC directly while the vote runs: still the candidate of this vote.
    community.name("cody", CommunityRole.PMC)
    with pytest.raises(PermissionDenied, match="own promotion"):
        votes.vote_cast(vote=vote, voter=community["cody"], value=1)
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    votes.votes_close_due(now=after_window(vote))
    vote.refresh_from_db()
    # Passed, and the higher role they already hold is kept, not lowered to committer.
    assert vote.state == VoteState.PASSED and vote.result["applied"] is False
    assert community.role_of("cody") == CommunityRole.PMC


def test_a_cast_after_the_window_closes_the_vote_and_is_refused(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    PromotionVote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="too late"):
        votes.vote_cast(vote=vote, voter=community["quinn"], value=-1, comment="Too soon.")
    vote.refresh_from_db()
    assert vote.state == VoteState.PASSED  # the late veto did not count
    assert not Ballot.objects.filter(voter=community["quinn"]).exists()
    assert community.role_of("cody") == CommunityRole.COMMITTER


def test_a_minus_one_must_say_why(community):
    vote = community.propose()
    with pytest.raises(ValidationError) as info:
        votes.vote_cast(vote=vote, voter=community["paul"], value=-1, comment="  ")
    assert "comment" in info.value.message_dict


def test_casting_the_same_ballot_again_records_nothing(community):
    vote = community.propose()
    community.cast(vote, {"paul": 1})
    seq = last_seq()
    community.cast(vote, {"paul": 1})
    assert last_seq() == seq
    assert Ballot.objects.filter(vote=vote).count() == 1


def test_what_may_be_proposed(community):
    with pytest.raises(ValidationError, match="already Committer"):
        community.propose(candidate="carl", role=CommunityRole.COMMITTER)
    with pytest.raises(ValidationError):
        community.propose(role=CommunityRole.CONTRIBUTOR)
    community.people["nina"] = make_user("nina")
    with pytest.raises(ValidationError, match="no role"):
        community.propose(candidate="nina")
    community.propose()
    with pytest.raises(ValidationError, match="already open"):
        community.propose(by="paul")
    assert PromotionVote.objects.count() == 1


def test_an_inactive_candidate_is_not_proposed_and_not_promoted(community):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    community["cody"].is_active = False
    community["cody"].save(update_fields=["is_active"])
    votes.votes_close_due(now=after_window(vote))
    vote.refresh_from_db()
    assert vote.state == VoteState.FAILED and "no longer active" in vote.result["reason"]
    with pytest.raises(ValidationError, match="not active"):
        community.propose()


# --------------------------------------------------------------------------- what people see


def _vote_url(vote):
    return reverse("community:vote", kwargs={"pk": vote.pk})


def test_a_non_pmc_member_sees_nothing_of_an_open_vote_and_the_outcome_of_a_closed_one(
    community, client
):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1, "quinn": 0})
    client.force_login(community.world.alice)  # owns the component, not on the PMC
    assert client.get(_vote_url(vote)).status_code == 404
    panel = client.get(reverse("community:component-votes", args=[community.component.slug]))
    assert panel.status_code == 200
    assert "cody" not in panel.content.decode() and "open-votes" not in panel.content.decode()
    cast = client.post(reverse("community:vote-cast", args=[vote.pk]), {"value": "1"})
    assert cast.status_code == 404
    propose = client.post(
        reverse("community:vote-propose", args=[community.component.slug]),
        {"candidate": "carl", "role": "pmc", "reason": "Steady."},
    )
    assert propose.status_code == 403
    assert PromotionVote.objects.count() == 1 and Ballot.objects.count() == 4

    votes.votes_close_due(now=after_window(vote))
    page = client.get(_vote_url(vote))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Passed" in body and 'data-testid="vote-outcome-only"' in body
    assert "Well deserved" not in body and "Reviewed forty" not in body  # ballots, reason
    assert 'data-testid="ballots"' not in body and 'data-testid="vote-tally"' not in body
    panel = client.get(reverse("community:component-votes", args=[community.component.slug]))
    assert "cody" in panel.content.decode()

    client.force_login(make_user("mallory"))  # does not see the component at all
    assert client.get(_vote_url(vote)).status_code == 404


def test_the_candidate_sees_the_outcome_of_their_vote_once_closed(community, client):
    vote = community.propose()
    client.force_login(community["cody"])
    assert client.get(_vote_url(vote)).status_code == 404
    community.cast(vote, {"petra": 1})
    votes.votes_close_due(now=after_window(vote))
    assert client.get(_vote_url(vote)).status_code == 200


def test_the_pmc_sees_ballots_tally_and_the_cast_form(community, client):
    vote = community.propose()
    community.cast(vote, {"petra": 1, "rita": -1})
    client.force_login(community["paul"])
    body = client.get(_vote_url(vote)).content.decode()
    assert 'data-testid="ballot" data-voter="petra"' in body
    assert "Not yet: no review work." in body  # rita's reason
    assert 'data-testid="tally-plus">1<' in body and 'data-testid="tally-minus">1<' in body
    assert 'data-testid="cast-form"' in body and 'data-testid="withdraw-form"' not in body
    client.force_login(community["petra"])
    body = client.get(_vote_url(vote)).content.decode()
    assert 'data-testid="withdraw-form"' in body and "Change your vote" in body


def test_proposing_casting_and_withdrawing_through_the_pages(community, client):
    client.force_login(community["petra"])
    url = reverse("community:vote-propose", args=[community.component.slug])
    response = client.post(url, {"candidate": "cody", "role": "committer", "reason": "Steady."})
    vote = PromotionVote.objects.get()
    assert response.status_code == 302 and response["Location"] == _vote_url(vote)

    cast = reverse("community:vote-cast", args=[vote.pk])
    assert client.post(cast, {"value": "1", "comment": "Yes."}).status_code == 302
    assert Ballot.objects.get(voter=community["petra"]).comment == "Yes."

    client.force_login(community["paul"])
    refused = client.post(reverse("community:vote-withdraw", args=[vote.pk]), {"reason": ""})
    assert refused.status_code == 403
    client.force_login(community["petra"])
    done = client.post(reverse("community:vote-withdraw", args=[vote.pk]), {"reason": "Later."})
    assert done.status_code == 302
    vote.refresh_from_db()
    assert vote.state == VoteState.WITHDRAWN


def test_bad_input_gives_the_form_again_with_errors_never_a_500(community, client):
    client.force_login(community["petra"])
    propose = reverse("community:vote-propose", args=[community.component.slug])
    unknown = client.post(propose, {"candidate": "nobody", "role": "committer", "reason": "x"})
    assert unknown.status_code == 400 and "No active user is called" in unknown.content.decode()
    wrong = client.post(propose, {"candidate": "carl", "role": "committer", "reason": "x"})
    assert wrong.status_code == 400 and "already Committer" in wrong.content.decode()
    bad_role = client.post(propose, {"candidate": "cody", "role": "king", "reason": "x"})
    assert bad_role.status_code == 400
    vote = community.propose()
    twice = client.post(propose, {"candidate": "cody", "role": "pmc", "reason": "x"})
    assert twice.status_code == 400 and "already open" in twice.content.decode()

    client.force_login(community["paul"])
    cast = reverse("community:vote-cast", args=[vote.pk])
    veto = client.post(cast, {"value": "-1", "comment": ""})
    assert veto.status_code == 400 and "say why" in veto.content.decode()
    assert client.post(cast, {"value": "7"}).status_code == 400
    assert not Ballot.objects.exists()

    PromotionVote.objects.filter(pk=vote.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    late = client.post(cast, {"value": "1"})
    assert late.status_code == 400 and "too late" in late.content.decode()
    vote.refresh_from_db()
    assert vote.state == VoteState.FAILED  # closed by the late cast, with no +1 in


def test_the_component_page_loads_the_votes_section(community, client):
    client.force_login(community.world.alice)
    body = client.get(community.component.get_absolute_url()).content.decode()
    url = reverse("community:component-votes", args=[community.component.slug])
    assert f'hx-get="{url}"' in body and "Promotion votes" in body


def test_only_the_outcome_reaches_the_component_timeline(community, client):
    vote = community.propose()
    community.cast(vote, {"petra": 1})
    scoped = AuditEvent.objects.filter(scope=community.component.audit_scope)
    assert not scoped.filter(action__in=["vote.opened", "vote.cast"]).exists()
    votes.votes_close_due(now=after_window(vote))
    assert scoped.filter(action="vote.closed").exists()


# --------------------------------------------------------------------------- notifications


def test_the_pmc_is_told_when_a_vote_opens_and_the_candidate_when_it_closes(community):
    outbox_drain()
    Notification.objects.all().delete()
    vote = community.propose()
    outbox_drain()
    told = set(Notification.objects.filter(kind=Kind.VOTE).values_list("user__username", flat=True))
    assert told == {"paul", "pia", "quinn", "rita"}  # the PMC but the proposer
    assert Notification.objects.filter(kind=Kind.VOTE).first().url == vote.get_absolute_url()

    community.cast(vote, {"petra": 1, "paul": 1, "pia": 1})
    votes.votes_close_due(now=after_window(vote))
    outbox_drain()
    closed = Notification.objects.filter(kind=Kind.VOTE, event__action="vote.closed")
    assert "cody" in set(closed.values_list("user__username", flat=True))
    assert "passed" in closed.get(user=community["cody"]).title


# --------------------------------------------------------------------------- query counts


def _partial_queries(client, community) -> int:
    url = reverse("community:component-votes", args=[community.component.slug])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_votes(community, n: int, start: int):
    for i in range(start, start + n):
        person = community.name(f"contrib{i}", CommunityRole.CONTRIBUTOR)
        vote = votes.vote_open(component=community.component, candidate=person,
                               role=CommunityRole.COMMITTER, actor=community["petra"],
                               reason="Steady.")  # fmt: skip
        community.cast(vote, {"paul": 1, "pia": 0})
        if i % 2:
            votes.vote_close(vote=vote, now=after_window(vote))


def test_the_component_votes_section_costs_the_same_queries_for_2_or_12_votes(community, client):
    client.force_login(community["petra"])
    _add_votes(community, 2, 0)
    small = _partial_queries(client, community)
    _add_votes(community, 10, 2)
    assert PromotionVote.objects.count() == 12
    assert _partial_queries(client, community) == small
    client.force_login(community.world.alice)  # the outcome-only view is bounded too
    assert _partial_queries(client, community) <= small
