"""The pages of promotion votes: one vote (details for the PMC, the outcome for everyone
who sees the component once it is closed), a component's votes (an htmx section of the
component page, or a page), and the POSTs that propose, cast and withdraw."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from community import votes
from community.models import PromotionVote
from community.vote_forms import BallotForm, ProposeForm, WithdrawForm
from core.forms import add_service_errors
from governance.models import Component
from governance.selectors import component_detail

NOT_FOUND = "Not found, or not yours to see."


def _component_or_404(user, slug) -> Component:
    try:
        return component_detail(user, slug)
    except Component.DoesNotExist as exc:
        raise Http404(NOT_FOUND) from exc


def _vote_or_404(user, pk) -> PromotionVote:
    try:
        return votes.vote_for(user, pk)
    except PromotionVote.DoesNotExist as exc:
        raise Http404(NOT_FOUND) from exc


# --------------------------------------------------------------------------- one vote


def _render_vote(request, vote, *, ballot_form=None, withdraw_form=None, status=200):
    user = request.user
    details = votes.can_see_vote_details(user, vote)
    context = {
        "vote": vote,
        "component": vote.component,
        "details": details,
        "ballots": votes.vote_ballots(vote) if details else [],
        "can_cast": votes.can_cast_ballot(user, vote),
        "can_withdraw": votes.can_withdraw_vote(user, vote),
        "is_candidate": user.pk == vote.candidate_id,
    }
    if context["can_cast"]:
        initial = {}
        if vote.mine is not None:
            mine = next((b for b in context["ballots"] if b.voter_id == user.pk), None)
            initial = {"value": str(vote.mine), "comment": mine.comment if mine else ""}
        context["ballot_form"] = ballot_form or BallotForm(initial=initial)
    elif ballot_form is not None:
        # Refused because the vote is decided (a late cast closes it): no form to show
        # the errors on any more.
        context["cast_errors"] = [e for errors in ballot_form.errors.values() for e in errors]
    if context["can_withdraw"]:
        context["withdraw_form"] = withdraw_form or WithdrawForm()
    return render(request, "community/vote_detail.html", context, status=status)


@login_required
@require_safe
def vote_detail(request, pk):
    """One vote: for the PMC and the office its proposal, tally and ballots, the cast
    form and (the proposer) withdraw; for others who see the component, a closed vote's
    outcome. 404 for anyone else, and for everyone but the PMC while it is open."""
    return _render_vote(request, _vote_or_404(request.user, pk))


@login_required
@require_POST
def vote_cast(request, pk):
    vote = _vote_or_404(request.user, pk)
    form = BallotForm(request.POST)
    if form.is_valid():
        try:
            votes.vote_cast(
                vote=vote, voter=request.user, value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your vote is recorded.")
            return redirect(vote)
    # A cast refused because the window ended has just closed the vote: show it so.
    return _render_vote(request, _vote_or_404(request.user, pk), ballot_form=form, status=400)


@login_required
@require_POST
def vote_withdraw(request, pk):
    vote = _vote_or_404(request.user, pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            votes.vote_withdraw(vote=vote, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _render_vote(request, _vote_or_404(request.user, pk), status=400)
        messages.success(request, "The vote is withdrawn.")
        return redirect(vote)
    return _render_vote(request, vote, withdraw_form=form, status=400)


# --------------------------------------------------------------------------- a component's


def _render_component_votes(request, component, *, form=None, status=200):
    listing = votes.component_votes(request.user, component)
    context = {
        "component": component,
        "votes": listing,
        "policy": votes.vote_policy(component) if listing.details else None,
        "propose_form": (form or ProposeForm()) if listing.can_propose else None,
    }
    template = "community/vote_panel.html"
    if not request.htmx or status != 200:
        template = "community/vote_component.html"
    return render(request, template, context, status=status)


@login_required
@require_safe
def component_votes(request, slug):
    """A component's promotion votes: open ones and the propose form for the PMC and the
    office, closed outcomes for everyone who sees the component. A fragment for the
    component page (htmx), or a page."""
    return _render_component_votes(request, _component_or_404(request.user, slug))


@login_required
@require_POST
def vote_propose(request, slug):
    """Open a vote (PMC and office; 403 for others who see the component)."""
    component = _component_or_404(request.user, slug)
    if not votes.can_propose_vote(request.user, component):
        raise PermissionDenied("Only the component's PMC members and the office propose.")
    form = ProposeForm(request.POST)
    if form.is_valid():
        try:
            vote = votes.vote_open(
                component=component, candidate=form.user, role=form.cleaned_data["role"],
                actor=request.user, reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Vote opened: {vote}. The PMC is told.")
            return redirect(vote)
    return _render_component_votes(request, component, form=form, status=400)
