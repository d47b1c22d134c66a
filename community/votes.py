"""Promotion votes: a PMC member proposes a person for a higher community role, the PMC
votes +1, 0 or −1 for a window of hours (data per component), and the outcome changes
the role.

Decisions this module makes (the issue leaves them open):

* **Who proposes.** A PMC member of the component, or the open-source office (superusers).
  Only PMC members vote: the office may propose and withdraw, not vote.
* **What may be proposed.** Committer or PMC, for someone already named in the component
  (at least Contributor) and below that role. People with no role are named Contributor
  by the PMC first (the roles form): the vote is how a known contributor earns more.
* **The candidate never votes on their own promotion**, even when they sit on the PMC
  (ASF allows it; an auditor reading "three +1" expects three people other than the
  candidate).
* **The window is kept.** A vote never closes early: not as passed when enough +1s are in
  (late voters still get their say), and not as failed on a −1 (a veto can be withdrawn
  by changing that ballot while the vote is open, the Apache way).
* **A ballot counts if its voter was on the PMC when casting it**; every cast is audited.
* **Privacy.** Ballots, comments, the tally and the proposal's reason are the PMC's (and
  the office's). Anyone who sees the component sees a closed vote's outcome (passed,
  failed, withdrawn) and nothing of an open one. So ``vote.opened`` and ``vote.cast`` are
  recorded outside the component's public timeline (``votes_scope``); ``vote.closed`` and
  ``vote.withdrawn`` are on it.
* **Who changes the role.** ``governance.services.component_role_set`` needs someone who
  may manage the roles: the proposer, or else the earliest +1 voter still on the PMC. The
  role change is audited by it, after ``vote.closed``, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from community.enums import BallotValue, VoteState
from community.models import Ballot, PromotionVote, VotePolicy
from core.audit import audit_record
from governance.enums import CommunityRole
from governance.models import Component, ComponentRole
from governance.rules import can_manage_roles, can_view_component, is_pmc
from governance.selectors import within_visible
from governance.services import component_role_set

#: Lowest first; "" is no role at all.
ROLE_RANK = {"": 0, CommunityRole.CONTRIBUTOR: 1, CommunityRole.COMMITTER: 2, CommunityRole.PMC: 3}
#: The roles a vote can give (Contributor is named directly by the PMC).
PROPOSABLE_ROLES = (CommunityRole.COMMITTER, CommunityRole.PMC)
DEFAULT_HOURS = 72
DEFAULT_PLUS_ONES = 3
#: How many closed votes a component's list shows.
CLOSED_SHOWN = 50


def votes_scope(component: Component) -> str:
    """The audit scope of what only the PMC may read (proposals and ballots): not the
    component's own scope, whose timeline everyone who sees the component reads."""
    return f"{component.audit_scope}:votes"


# --------------------------------------------------------------------------- rules


def can_propose_vote(user, component: Component) -> bool:
    return user.is_authenticated and (user.is_superuser or is_pmc(user, component))


def can_see_vote_details(user, vote: PromotionVote) -> bool:
    """Ballots, comments, tally, the proposal's reason: the PMC and the office."""
    return user.is_authenticated and (user.is_superuser or is_pmc(user, vote.component))


def can_see_vote_result(user, vote: PromotionVote) -> bool:
    """The outcome of a closed vote: whoever sees the component. An open vote: nobody
    beyond the PMC (not even that it exists)."""
    return vote.state != VoteState.OPEN and can_view_component(user, vote.component)


def can_see_vote(user, vote: PromotionVote) -> bool:
    return can_see_vote_details(user, vote) or can_see_vote_result(user, vote)


def can_cast_ballot(user, vote: PromotionVote) -> bool:
    """PMC members other than the candidate, while the vote is open."""
    return (
        vote.state == VoteState.OPEN
        and user.is_authenticated
        and user.pk != vote.candidate_id
        and is_pmc(user, vote.component)
    )


def is_vote_proposer(user, vote: PromotionVote) -> bool:
    """The proposer (while still on the PMC) or the office: who may withdraw it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.pk == vote.proposed_by_id and is_pmc(user, vote.component)


def can_withdraw_vote(user, vote: PromotionVote) -> bool:
    return vote.state == VoteState.OPEN and is_vote_proposer(user, vote)


# --------------------------------------------------------------------------- selectors


@dataclass(frozen=True)
class Policy:
    hours: int
    plus_ones_needed: int
    veto: bool


def vote_policy(component: Component) -> Policy:
    """The component's rules, or the defaults (``GATEHOUSE_VOTE_HOURS`` may change the
    default window for every component without a policy row)."""
    row = VotePolicy.objects.filter(component=component).first()
    if row is not None:
        return Policy(row.hours, row.plus_ones_needed, row.veto)
    hours = int(getattr(settings, "GATEHOUSE_VOTE_HOURS", DEFAULT_HOURS))
    return Policy(hours, DEFAULT_PLUS_ONES, True)


def _with_tally(queryset: QuerySet[PromotionVote], user=None) -> QuerySet[PromotionVote]:
    """Votes with ``plus``, ``zero``, ``minus`` (ballot counts) and, for ``user``, their
    own ballot's value as ``mine`` (None when they have not voted)."""
    queryset = queryset.annotate(
        plus=Count("ballots", filter=Q(ballots__value=BallotValue.PLUS_ONE)),
        zero=Count("ballots", filter=Q(ballots__value=BallotValue.ZERO)),
        minus=Count("ballots", filter=Q(ballots__value=BallotValue.MINUS_ONE)),
    )
    if user is not None and user.is_authenticated:
        mine = Ballot.objects.filter(vote=OuterRef("pk"), voter=user).values("value")[:1]
        queryset = queryset.annotate(mine=Subquery(mine, output_field=IntegerField()))
    return queryset


@dataclass
class ComponentVotes:
    details: bool  # PMC or office: open votes and tallies
    can_propose: bool
    open: list
    closed: list


def component_votes(user, component: Component) -> ComponentVotes:
    """The votes of a component as ``user`` may see them: open ones (PMC and office only)
    and the latest closed ones, with their tallies. Three queries whatever the number of
    votes (the PMC check and the two lists; nothing per row)."""
    details = user.is_authenticated and (user.is_superuser or is_pmc(user, component))
    base = PromotionVote.objects.filter(component=component).select_related(
        "candidate", "proposed_by"
    )
    open_votes = []
    if details:
        open_votes = list(_with_tally(base.filter(state=VoteState.OPEN), user))
        for vote in open_votes:
            vote.component = component
    closed = list(_with_tally(base.exclude(state=VoteState.OPEN))[:CLOSED_SHOWN])
    for vote in closed:
        vote.component = component
    return ComponentVotes(
        details=details,
        can_propose=details,  # the PMC and the office, as can_propose_vote
        open=open_votes,
        closed=closed,
    )


def vote_for(user, pk: int) -> PromotionVote:
    """One vote ``user`` may see, with its tally and their own ballot; DoesNotExist when
    there is none or it is not theirs to see (the view answers 404 either way)."""
    queryset = within_visible(PromotionVote.objects.all(), user)
    vote = (
        _with_tally(queryset, user)
        .select_related("component", "candidate", "proposed_by")
        .get(pk=pk)
    )
    if not can_see_vote(user, vote):
        raise PromotionVote.DoesNotExist
    return vote


def vote_ballots(vote: PromotionVote) -> list[Ballot]:
    return list(vote.ballots.select_related("voter"))


def vote_tally(vote: PromotionVote) -> dict[str, int]:
    """The ballots' counts, read from the database (one query)."""
    counts = dict(vote.ballots.values_list("value").annotate(n=Count("id")).order_by())
    return {
        "+1": counts.get(BallotValue.PLUS_ONE, 0),
        "0": counts.get(BallotValue.ZERO, 0),
        "-1": counts.get(BallotValue.MINUS_ONE, 0),
    }


# --------------------------------------------------------------------------- services


def vote_open(*, component: Component, candidate, role: str, actor, reason: str) -> PromotionVote:
    """Open a vote on promoting ``candidate`` to ``role`` in ``component``, with the
    component's policy (hours, +1s needed, veto) copied onto it so a later policy change
    does not move the goalposts. Audited ``vote.opened`` (the outbox tells the PMC).
    Not idempotent: a second proposal for the same person while one is open is refused
    (ValidationError); PermissionDenied for anyone but the PMC and the office."""
    if not can_propose_vote(actor, component):
        raise PermissionDenied("Only the component's PMC members and the office propose votes.")
    if role not in PROPOSABLE_ROLES:
        raise ValidationError({"role": "A vote makes someone a Committer or a PMC member."})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the PMC votes on what you write here."})
    if not candidate.is_active:
        raise ValidationError({"candidate": f"{candidate.get_username()} is not active."})
    if candidate.pk == actor.pk:
        raise ValidationError({"candidate": "Nobody proposes themselves: ask a PMC member."})
    with transaction.atomic():
        # The component row orders this against role changes (component_role_set locks
        # it too): the role read below is the one the vote starts from.
        Component.objects.select_for_update().only("pk").get(pk=component.pk)
        current = (
            ComponentRole.objects.filter(component=component, user=candidate)
            .values_list("role", flat=True)
            .first()
        ) or ""
        name = candidate.get_username()
        if not current:
            raise ValidationError(
                {"candidate": f"{name} has no role in {component} yet: name them Contributor "
                              "first (Community roles), then propose them."}
            )  # fmt: skip
        if ROLE_RANK[current] >= ROLE_RANK[role]:
            raise ValidationError(
                {"role": f"{name} is already {CommunityRole(current).label}: propose a "
                         "higher role."}
            )  # fmt: skip
        if PromotionVote.objects.filter(
            component=component, candidate=candidate, state=VoteState.OPEN
        ).exists():
            raise ValidationError({"candidate": f"A vote on {name} is already open."})
        policy = vote_policy(component)
        now = timezone.now()
        try:
            with transaction.atomic():
                vote = PromotionVote.objects.create(
                    component=component, candidate=candidate, role=role, from_role=current,
                    proposed_by=actor, reason=reason, opened_at=now,
                    closes_at=now + timedelta(hours=policy.hours),
                    plus_ones_needed=policy.plus_ones_needed, veto=policy.veto,
                )  # fmt: skip
        except IntegrityError as exc:  # a proposal racing this one won
            raise ValidationError({"candidate": f"A vote on {name} is already open."}) from exc
        audit_record(
            actor=actor,
            action="vote.opened",
            obj=vote,
            after={
                "component": component.pk,
                "candidate": name,
                "role": role,
                "from_role": current,
                "closes_at": vote.closes_at.isoformat(),
                "plus_ones_needed": policy.plus_ones_needed,
                "veto": policy.veto,
            },
            scope=votes_scope(component),
        )
    return vote


def vote_cast(*, vote: PromotionVote, voter, value: int, comment: str = "") -> Ballot:
    """Cast or change ``voter``'s ballot (+1, 0, −1; a −1 gives its reason). Audited
    ``vote.cast`` each time the ballot changes; casting the same ballot again changes and
    records nothing. The vote row is locked, so a cast racing the close is ordered: a cast
    at or after ``closes_at`` closes the vote instead (its own transaction) and is refused
    (ValidationError). PermissionDenied for the candidate and anyone not on the PMC."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = None
    if value not in BallotValue.values:
        raise ValidationError({"value": "Vote +1, 0 or −1."})
    comment = (comment or "").strip()
    if value == BallotValue.MINUS_ONE and not comment:
        raise ValidationError({"comment": "A −1 is a veto: say why, so it can be answered."})
    now = timezone.now()
    expired = False
    with transaction.atomic():
        locked = PromotionVote.objects.select_for_update().get(pk=vote.pk)
        locked.component = vote.component
        if voter.pk == locked.candidate_id:
            raise PermissionDenied("Nobody votes on their own promotion.")
        if not is_pmc(voter, locked.component):
            raise PermissionDenied("Only the component's PMC members vote.")
        if locked.state != VoteState.OPEN:
            raise ValidationError(f"The vote is {locked.get_state_display().lower()}.")
        if now >= locked.closes_at:
            expired = True
        else:
            ballot = Ballot.objects.filter(vote=locked, voter=voter).first()
            before = {}
            if ballot is None:
                ballot = Ballot.objects.create(
                    vote=locked, voter=voter, value=value, comment=comment, cast_at=now
                )
            elif ballot.value == value and ballot.comment == comment:
                return ballot
            else:
                before = {"value": ballot.value, "comment_length": len(ballot.comment)}
                ballot.value, ballot.comment, ballot.cast_at = value, comment, now
                ballot.save(update_fields=["value", "comment", "cast_at"])
            audit_record(
                actor=voter,
                action="vote.cast",
                obj=locked,
                before=before,
                after={
                    "component": locked.component_id,
                    "voter": voter.get_username(),
                    "value": value,
                    "comment_length": len(comment),
                },
                scope=votes_scope(locked.component),
            )
    if expired:
        vote_close(vote=locked, now=now)
        raise ValidationError(
            f"The vote closed at {locked.closes_at:%Y-%m-%d %H:%M} UTC: your ballot came too "
            "late, and the vote is now decided."
        )
    return ballot


def vote_withdraw(*, vote: PromotionVote, actor, reason: str = "") -> PromotionVote:
    """The proposer (or the office) withdraws an open vote: state WITHDRAWN, the tally so
    far kept in ``result``, the role unchanged. Audited ``vote.withdrawn`` (the outbox
    tells the PMC and the candidate). Refused once closed; a withdrawal after the window
    closes the vote instead (the outcome was already decided) and is refused."""
    if not is_vote_proposer(actor, vote):
        raise PermissionDenied("Only the proposer or the office withdraws a vote.")
    reason = (reason or "").strip()
    now = timezone.now()
    with transaction.atomic():
        locked = PromotionVote.objects.select_for_update().get(pk=vote.pk)
        locked.component = vote.component
        if locked.state != VoteState.OPEN:
            raise ValidationError(f"The vote is {locked.get_state_display().lower()} already.")
        expired = now >= locked.closes_at
        if not expired:
            tally = vote_tally(locked)
            why = f"withdrawn by {actor.get_username()}" + (f": {reason}" if reason else "")
            locked.state = VoteState.WITHDRAWN
            locked.closed_at = now
            locked.result = {**tally, "reason": why}
            locked.save(update_fields=["state", "closed_at", "result"])
            audit_record(
                actor=actor,
                action="vote.withdrawn",
                obj=locked,
                before={"state": VoteState.OPEN},
                after={
                    "component": locked.component_id,
                    "result": "withdrawn",
                    "state": VoteState.WITHDRAWN,
                    "reason_length": len(reason),
                },
                scope=locked.component.audit_scope,
            )
    if expired:
        vote_close(vote=locked, now=now)
        raise ValidationError("The vote's window has ended: it is decided, not withdrawn.")
    return locked


def _decide(vote: PromotionVote, tally: dict[str, int]) -> tuple[bool, str]:
    plus, minus, needed = tally["+1"], tally["-1"], vote.plus_ones_needed
    if vote.veto and minus:
        return False, f"vetoed: {minus} × −1"
    if plus < needed:
        return False, f"{plus} × +1 of {needed} needed"
    if not vote.veto and plus <= minus:
        return False, f"{plus} × +1 do not outnumber {minus} × −1"
    return True, f"{plus} × +1 ({needed} needed)" + ("" if minus else ", no −1")


def _role_actor(vote: PromotionVote):
    """Who the role change is recorded as made by: the proposer, or else the earliest +1
    voter, while they may still manage the component's roles."""
    people = []
    if vote.proposed_by_id:
        people.append(vote.proposed_by)
    plus = vote.ballots.filter(value=BallotValue.PLUS_ONE).select_related("voter")
    people.extend(b.voter for b in plus)
    for person in people:
        if person.is_active and can_manage_roles(person, vote.component):
            return person
    return None


def _close_one(vote_id: int, now: datetime) -> tuple[PromotionVote | None, bool]:
    """Close one vote if it is open and due; (vote, whether it closed now)."""
    with transaction.atomic():
        component_id = (
            PromotionVote.objects.filter(pk=vote_id).values_list("component_id", flat=True).first()
        )
        if component_id is None:
            return None, False
        # Component first, then the vote: the order vote_open and component_role_set take.
        component = Component.objects.select_for_update().get(pk=component_id)
        vote = PromotionVote.objects.select_for_update().select_related("candidate").get(pk=vote_id)
        vote.component = component
        if vote.state != VoteState.OPEN or now < vote.closes_at:
            return vote, False
        tally = vote_tally(vote)
        passed, why = _decide(vote, tally)
        candidate = vote.candidate
        if passed and not candidate.is_active:
            passed, why = False, f"{why}; but {candidate.get_username()} is no longer active"
        applies = False
        actor = None
        if passed:
            current = (
                ComponentRole.objects.filter(component=component, user=candidate)
                .values_list("role", flat=True)
                .first()
            ) or ""
            if ROLE_RANK[current] >= ROLE_RANK[vote.role]:
                why += f"; {candidate.get_username()} already holds that role or a higher one"
            else:
                actor = _role_actor(vote)
                applies = actor is not None
                if not applies:
                    why += "; nobody who proposed or voted +1 is left on the PMC to apply it"
        vote.state = VoteState.PASSED if passed else VoteState.FAILED
        vote.closed_at = now
        vote.result = {**tally, "reason": why, "applied": applies}
        vote.save(update_fields=["state", "closed_at", "result"])
        audit_record(
            actor=None,
            action="vote.closed",
            obj=vote,
            before={"state": VoteState.OPEN},
            after={
                "component": component.pk,
                "result": vote.state,
                "state": vote.state,
                "tally": tally,
                "reason": why,
            },
            scope=component.audit_scope,
        )
        if applies:
            component_role_set(component=component, user=candidate, role=vote.role, actor=actor)
    return vote, True


def vote_close(*, vote: PromotionVote, now: datetime | None = None) -> PromotionVote:
    """Decide an open vote whose window has ended: tally the ballots; it passes with at
    least ``plus_ones_needed`` × +1 and (with veto) no −1. Sets PASSED or FAILED with the
    tally and the reason in ``result``; on a pass gives the candidate the role through
    ``component_role_set`` (audited there, after ``vote.closed``). One transaction with
    the component and vote rows locked. Idempotent: a vote already closed, or not due
    yet, is returned unchanged (a vote never closes before its window ends)."""
    closed, _ = _close_one(vote.pk, now or timezone.now())
    return closed or vote


def votes_close_due(*, now: datetime | None = None) -> int:
    """Close every open vote past its window (beat, every few minutes), one transaction
    each, so one failing vote does not hold back the others. Returns how many closed
    now; running it again closes nothing more (idempotent)."""
    now = now or timezone.now()
    due = PromotionVote.objects.filter(state=VoteState.OPEN, closes_at__lte=now)
    closed = 0
    for vote_id in due.order_by("closes_at", "pk").values_list("pk", flat=True):
        _, now_closed = _close_one(vote_id, now)
        closed += now_closed
    return closed
