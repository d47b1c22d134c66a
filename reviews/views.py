from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from governance.models import Component
from governance.rules import can_change_scope
from governance.selectors import component_detail, submittable_components
from reviews import rules, selectors, services
from reviews.enums import SubmissionState
from reviews.forms import (
    CommentForm,
    DecisionForm,
    ResubmitForm,
    ScopeForm,
    SubmitForm,
    WithdrawForm,
)
from reviews.models import ReviewTicket, Submission
from scans.enums import TriageState
from scans.rules import triageable_kinds
from scans.selectors import SEVERITY_RANK, findings_for_department, latest_scan

PAGE_SIZE = 50


def _get_or_404(loader, *args):
    try:
        return loader(*args)
    except (Submission.DoesNotExist, ReviewTicket.DoesNotExist) as exc:
        raise Http404("Not found, or not yours to see.") from exc


def _with_age(tickets):
    now = timezone.now()
    for ticket in tickets:
        ticket.age_days = (now - ticket.created_at).days
        ticket.overdue = ticket.age_days > ticket.department.sla_days
    return tickets


@login_required
def home(request):
    user = request.user
    mine = selectors.submission_list(user).filter(
        state__in=[
            SubmissionState.IN_REVIEW,
            SubmissionState.CHANGES_REQUESTED,
            SubmissionState.APPROVED,
        ]
    )
    if not user.is_superuser:
        mine = mine.filter(submitted_by=user) | mine.filter(component__owners=user)
        mine = mine.distinct()
    waiting = _with_age([t for t in selectors.reviewer_queue(user)[:50] if not t.my_signoffs][:10])
    return render(
        request,
        "reviews/home.html",
        {
            "waiting": waiting,
            "changes_requested": [s for s in mine if s.state == SubmissionState.CHANGES_REQUESTED],
            "active": [s for s in mine if s.state != SubmissionState.CHANGES_REQUESTED][:20],
        },
    )


@login_required
def submit(request):
    components = submittable_components(request.user)
    form = SubmitForm(request.POST or None, components=components, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.submission_create(
                actor=request.user,
                component=data["component"],
                new_component=form.component_draft(),
                repository_url=data["repository_url"],
                branch=data["branch"],
                justification=data["justification"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            submission = result.submission
            messages.success(
                request,
                f"Submitted {submission.component} at {submission.short_commit}; "
                f"{submission.tickets.count()} departments will review it.",
            )
            return redirect(submission)
    return render(
        request, "reviews/submit.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def submission_list(request):
    submissions = selectors.submission_list(request.user)
    state = request.GET.get("state")
    if state in SubmissionState.values:
        submissions = submissions.filter(state=state)
    page = Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/submission_list.html",
        {
            "page": page,
            "submissions": page.object_list,
            "states": SubmissionState.choices,
            "state": state or "",
        },
    )


def _submission_context(request, submission, **forms):
    user = request.user
    refresh_denial = rules.refresh_denial(user, submission)
    tickets = list(submission.tickets.all())
    for ticket in tickets:
        ticket.current_signoffs = [s for s in ticket.signoffs.all() if s.status == "current"]
        ticket.approvals = sum(s.decision == "approve" for s in ticket.current_signoffs)
    context = {
        "submission": submission,
        "component": submission.component,
        "scan": latest_scan(
            repository_id=submission.repository_id,
            commit=submission.commit,
            component_id=submission.component_id,
        ),
        "tickets": tickets,
        "timeline": selectors.submission_timeline(submission).select_related("actor"),
        "can_refresh": refresh_denial is None,
        "comment_form": forms.get("comment_form") or CommentForm(),
        "resubmit_form": forms.get("resubmit_form") or ResubmitForm(),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(),
        "scope_changes": _scope_changes(submission),
    }
    return context


def _scope_changes(submission):
    """What changed in the review scope at its last change, for the reviewers to see."""
    if not submission.scope_changed_at:
        return []

    def shown(value) -> str:
        if isinstance(value, list):
            value = ", ".join(value)
        return value or "—"

    return [
        (label, shown(before), shown(after))
        for label, before, after in services.scope_changes(
            submission.previous_scope, submission.scope
        )
    ]


@login_required
def submission_detail(request, pk):
    submission = _get_or_404(selectors.submission_detail, request.user, pk)
    return render(
        request, "reviews/submission_detail.html", _submission_context(request, submission)
    )


def _submission_action(request, pk, form_class, form_key, action):
    submission = _get_or_404(selectors.submission_detail, request.user, pk)
    form = form_class(request.POST) if form_class else None
    if form is None or form.is_valid():
        try:
            action(submission, form.cleaned_data if form else {})
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
            else:
                add_service_errors(form, exc)
                submission = selectors.submission_detail(request.user, pk)
                return render(
                    request,
                    "reviews/submission_detail.html",
                    _submission_context(request, submission, **{form_key: form}),
                    status=400,
                )
        else:
            return redirect(submission)
    else:
        submission = selectors.submission_detail(request.user, pk)
        return render(
            request,
            "reviews/submission_detail.html",
            _submission_context(request, submission, **{form_key: form}),
            status=400,
        )
    return redirect(submission)


@login_required
@require_POST
def submission_refresh(request, pk):
    def action(submission, _):
        result = services.submission_refresh(submission=submission, actor=request.user)
        if result.moved:
            messages.warning(
                request,
                f"The branch moved from {result.old_commit[:10]} to {result.new_commit[:10]}: "
                f"{result.stale_signoffs} sign-off(s) went stale and review starts again.",
            )
        else:
            messages.info(
                request, f"The branch is still at {result.new_commit[:10]}; nothing changed."
            )

    return _submission_action(request, pk, None, None, action)


@login_required
@require_POST
def submission_resubmit(request, pk):
    def action(submission, data):
        services.submission_resubmit(
            submission=submission, actor=request.user, response=data["response"]
        )
        messages.success(
            request, "Resubmitted: the departments that asked for changes will review again."
        )

    return _submission_action(request, pk, ResubmitForm, "resubmit_form", action)


@login_required
@require_POST
def submission_withdraw(request, pk):
    def action(submission, data):
        services.submission_withdraw(
            submission=submission, actor=request.user, reason=data["reason"]
        )
        messages.info(request, "The submission was withdrawn.")

    return _submission_action(request, pk, WithdrawForm, "withdraw_form", action)


@login_required
@require_POST
def submission_comment(request, pk):
    def action(submission, data):
        services.comment_create(submission=submission, actor=request.user, body=data["body"])

    return _submission_action(request, pk, CommentForm, "comment_form", action)


@login_required
def queue(request):
    page = Paginator(selectors.reviewer_queue(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request, "reviews/queue.html", {"page": page, "tickets": _with_age(list(page.object_list))}
    )


def _ticket_context(request, ticket, decision_form=None, comment_form=None):
    submission = ticket.submission
    denial = rules.signoff_denial(request.user, ticket)
    questions = [q for q in ticket.department.questions.all() if q.is_active]
    signoffs = list(ticket.signoffs.all())
    scan = latest_scan(
        repository_id=submission.repository_id, commit=submission.commit,
        component_id=submission.component_id,
    )  # fmt: skip
    return {
        "scan": scan,
        # Only the department that reads dependency findings (technical) gets the table.
        "dependencies": selectors.ticket_dependencies(ticket, latest=scan)
        if selectors.shows_dependencies(ticket)
        else None,
        "findings": list(
            findings_for_department(scan, ticket.department.slug).order_by(
                SEVERITY_RANK, "state", "path", "line"
            )[:200]
        )
        if scan
        else [],
        "triage_states": TriageState.choices,
        "triage_kinds": triageable_kinds(request.user, submission.component),
        "ticket": ticket,
        "submission": submission,
        "component": submission.component,
        "denial": denial,
        "decision_form": decision_form
        or DecisionForm(questions=questions, initial={"commit": submission.commit}),
        "comment_form": comment_form or CommentForm(),
        "current_signoffs": [s for s in signoffs if s.status == "current"],
        "past_signoffs": [s for s in signoffs if s.status != "current"],
        "stale_since": submission.previous_commit
        if any(s.status == "stale" for s in signoffs)
        else "",
        "comments": [c for c in submission.comments.all() if c.ticket_id in (None, ticket.pk)],
        "scope_changes": _scope_changes(submission),
        "sibling_tickets": submission.tickets.all(),
    }


@login_required
def ticket_detail(request, pk):
    ticket = _get_or_404(selectors.ticket_detail, request.user, pk)
    if request.method != "POST":
        return render(request, "reviews/ticket_detail.html", _ticket_context(request, ticket))
    questions = [q for q in ticket.department.questions.all() if q.is_active]
    form = DecisionForm(request.POST, questions=questions)
    if form.is_valid():
        try:
            signoff = services.signoff_create(
                ticket=ticket,
                actor=request.user,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
                answers=form.answers(),
                expected_commit=form.cleaned_data["commit"],
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Recorded: {signoff.get_decision_display().lower()} on {signoff.commit[:10]}.",
            )
            return redirect(ticket)
    return _render_ticket(request, pk, status=400, decision_form=form)


@login_required
@require_POST
def ticket_comment(request, pk):
    ticket = _get_or_404(selectors.ticket_detail, request.user, pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_create(
                submission=ticket.submission,
                ticket=ticket,
                actor=request.user,
                body=form.cleaned_data["body"],
            )
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            if request.htmx:
                return _render_ticket(request, pk, partial=True)
            return redirect(ticket)
    if request.htmx:
        # htmx swaps only 2xx answers; the partial carries the form's errors.
        return _render_ticket(request, pk, partial=True, comment_form=form)
    return _render_ticket(request, pk, status=400, comment_form=form)


def _render_ticket(request, pk, *, status=200, partial=False, **forms):
    """Re-read the ticket (after a write, or to show a form's errors) and render it."""
    ticket = selectors.ticket_detail(request.user, pk)
    template = "reviews/partials/comments.html" if partial else "reviews/ticket_detail.html"
    return render(request, template, _ticket_context(request, ticket, **forms), status=status)


@login_required
def component_scope(request, slug):
    """What the departments approve besides the commit: the license, the Open Core
    boundary, the prefix mapping and where it is published. Owners and admins change it
    here; a change makes the current sign-offs stale and sends the review back."""
    try:
        component = component_detail(request.user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    if not can_change_scope(request.user, component):
        raise PermissionDenied(
            "Only the component's owners and admins change what it publishes and where."
        )
    form = ScopeForm(request.POST or None, initial=ScopeForm.initial_for(component))
    if request.method == "POST" and form.is_valid():
        try:
            stale = services.component_scope_update(
                component=component, actor=request.user, **form.changes()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if stale:
                messages.warning(
                    request,
                    f"Saved. {stale} sign-off(s) went stale: the departments review the new "
                    "scope again.",
                )
            else:
                messages.success(request, f"Saved what {component} publishes and where.")
            return redirect(component)
    live = selectors.live_submission(component)
    return render(
        request,
        "reviews/component_scope.html",
        {"component": component, "form": form, "submission": live},
        status=400 if form.errors else 200,
    )
