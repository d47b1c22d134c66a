"""Writes for submissions, tickets, sign-offs and comments.

One function owns each state change and all of its side effects. Git is asked before
the transaction opens (network work never holds row locks); inside it, the submission
row is locked first and its tickets after, always in that order, so a decision racing
another decision or a refresh ends in one consistent state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import vcs
from core.audit import audit_record
from governance import repositories
from governance.enums import Stage
from governance.models import ChecklistQuestion, Component, Department, Repository
from governance.services import (
    ComponentDraft,
    component_create,
    component_grant_view,
    component_scope_apply,
    component_set_stage,
    repository_record_head,
)
from reviews import rules
from reviews.enums import (
    ACTIVE_SUBMISSION_STATES,
    SUBMISSION_TRANSITIONS,
    TICKET_TRANSITIONS,
    Answer,
    Decision,
    SignOffStatus,
    SubmissionState,
    TicketState,
)
from reviews.models import (
    ChecklistAnswer,
    Comment,
    ReviewTicket,
    ReviewTicketGroupObjectPermission,
    ReviewTicketUserObjectPermission,
    SignOff,
    Submission,
    SubmissionGroupObjectPermission,
    SubmissionUserObjectPermission,
)
from reviews.signals import review_changed
from scans.enums import KIND_DEPARTMENT
from scans.models import ScanRun
from scans.selectors import new_blocking_kinds
from scans.services import export_plan_for, internal_mirror, scan_request

MAX_TEXT = 10_000


def resolve_branch_head(*, repository_url: str, branch: str) -> str:
    """Ask git for the commit at the head of ``branch``; errors name the field at fault.
    Runs inside a web request, so git gets GATEHOUSE_GIT_WEB_TIMEOUT seconds."""
    try:
        return vcs.ls_remote_branch(
            repository_url,
            branch,
            allow=settings.GATEHOUSE_GIT_ALLOW,
            timeout=settings.GATEHOUSE_GIT_WEB_TIMEOUT,
            credentials=repositories.git_credentials(),
        )
    except (vcs.InvalidRef, vcs.BranchNotFound) as exc:
        raise ValidationError({"branch": [str(exc)]}) from exc
    except vcs.VcsError as exc:
        raise ValidationError({"repository_url": [str(exc)]}) from exc


def bound_repository(submission: Submission) -> Repository:
    """The submission's repository, while its component still holds it: once the office
    unbinds or reassigns it, the submission reaches it no more (no refresh, no scan)."""
    if submission.component.internal_repository_id != submission.repository_id:
        raise ValidationError(
            {"repository_url": ["This repository is no longer registered to the component; "
                                "ask the open-source office."]}
        )  # fmt: skip
    return submission.repository


def _required_text(value: str, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: [message]})
    if len(text) > MAX_TEXT:
        raise ValidationError({field: [f"Keep it under {MAX_TEXT} characters."]})
    return text


def _submission_transition(*, submission: Submission, to_state: str, actor, reason: str = ""):
    """Move a locked submission to ``to_state``, with its audit event and the component's stage."""
    if submission.state == to_state:
        return
    if to_state not in SUBMISSION_TRANSITIONS[submission.state]:
        raise ValidationError(
            f"A submission cannot go from {submission.get_state_display()} to {to_state}."
        )
    before = submission.state
    submission.state = to_state
    submission.decided_at = (
        timezone.now() if to_state in (SubmissionState.APPROVED, SubmissionState.REJECTED) else None
    )
    submission.save(update_fields=["state", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        action="submission.state_changed",
        obj=submission,
        before={"state": before},
        after={"state": to_state, "commit": submission.commit},
        scope=submission.component.audit_scope,
    )
    stage = {
        SubmissionState.IN_REVIEW: Stage.IN_REVIEW,
        SubmissionState.APPROVED: Stage.APPROVED,
        SubmissionState.REJECTED: Stage.REJECTED,
        SubmissionState.WITHDRAWN: Stage.WITHDRAWN,
    }.get(to_state)
    if stage is not None:
        component = Component.objects.select_for_update().get(pk=submission.component_id)
        component_set_stage(component=component, stage=stage, actor=actor, reason=reason)
        submission.component = component


def _ticket_transition(*, ticket: ReviewTicket, to_state: str, actor, reason: str = "") -> bool:
    """Move a locked ticket to ``to_state`` and audit it; False if it was already there."""
    if ticket.state == to_state:
        return False
    if to_state not in TICKET_TRANSITIONS[ticket.state]:
        raise ValidationError(
            f"A ticket cannot go from {ticket.get_state_display()} to {to_state}."
        )
    before = ticket.state
    ticket.state = to_state
    ticket.decided_at = (
        timezone.now()
        if to_state in (TicketState.APPROVED, TicketState.CHANGES_REQUESTED, TicketState.REJECTED)
        else None
    )
    # Back to needing review (state open) tells the reviewers again: the notifications
    # outbox reads this event.
    ticket.save(update_fields=["state", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        action="ticket.state_changed",
        obj=ticket,
        before={"state": before},
        after={"state": to_state, "reason": reason} if reason else {"state": to_state},
        scope=ticket.submission.component.audit_scope,
    )
    return True


def _derived_ticket_state(*, ticket: ReviewTicket, commit: str) -> str:
    """A ticket's state follows from its current sign-offs on the submission's commit."""
    current = list(
        ticket.signoffs.filter(status=SignOffStatus.CURRENT, commit=commit).values_list(
            "decision", flat=True
        )
    )
    if Decision.REJECT in current:
        return TicketState.REJECTED
    if Decision.REQUEST_CHANGES in current:
        return TicketState.CHANGES_REQUESTED
    approvals = current.count(Decision.APPROVE)
    if approvals >= ticket.department.quorum:
        return TicketState.APPROVED
    if approvals:
        return TicketState.IN_REVIEW
    return TicketState.OPEN


def _grant_submission_access(*, submission: Submission, tickets: list[ReviewTicket]) -> None:
    """Object permissions: who sees the submission and its tickets, who may sign.

    Written with a few bulk inserts into guardian's direct permission tables rather than
    one assign_perm (three queries) per grant. Idempotent (conflicts are ignored).
    """
    component = submission.component
    people = {submission.submitted_by, *component.owners.all()}
    perms = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in=["reviews", "governance"],
            codename__in=[
                "view_submission", "refresh_submission", "view_reviewticket",
                "sign_reviewticket", "view_component",
            ],
        )
    }  # fmt: skip
    SubmissionUserObjectPermission.objects.bulk_create(
        [
            SubmissionUserObjectPermission(
                user=person, permission=perms[name], content_object=submission
            )
            for person in people
            for name in ("reviews.view_submission", "reviews.refresh_submission")
        ],
        ignore_conflicts=True,
    )
    SubmissionGroupObjectPermission.objects.bulk_create(
        [
            SubmissionGroupObjectPermission(
                group=ticket.department.reviewer_group,
                permission=perms["reviews.view_submission"],
                content_object=submission,
            )
            for ticket in tickets
        ],
        ignore_conflicts=True,
    )
    ReviewTicketGroupObjectPermission.objects.bulk_create(
        [
            ReviewTicketGroupObjectPermission(
                group=ticket.department.reviewer_group, permission=perms[name],
                content_object=ticket,
            )
            for ticket in tickets
            for name in ("reviews.view_reviewticket", "reviews.sign_reviewticket")
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    ReviewTicketUserObjectPermission.objects.bulk_create(
        [
            ReviewTicketUserObjectPermission(
                user=person, permission=perms["reviews.view_reviewticket"], content_object=ticket
            )
            for ticket in tickets
            for person in people
        ],
        ignore_conflicts=True,
    )
    component_grant_view(
        component=component,
        groups=[ticket.department.reviewer_group for ticket in tickets],
        permission=perms["governance.view_component"],
    )


@dataclass
class SubmitResult:
    submission: Submission
    component_created: bool


def submission_create(
    *,
    actor,
    repository_url: str,
    branch: str,
    justification: str,
    component: Component | None = None,
    new_component: ComponentDraft | None = None,
) -> SubmitResult:
    """Submit a component (existing, or created here from ``new_component``) for review.

    Resolves the branch head with git first; then, in one transaction, creates the
    component if asked, the submission at that commit, one ticket per active department
    and the object permissions, moves the component to "in review", and audits each
    step (the notifications outbox tells each department from those events). On any
    error nothing is written. Not idempotent: each call is a new submission.
    """
    if (component is None) == (new_component is None):
        raise ValidationError(
            {"component": ["Choose an existing component or describe a new one."]}
        )
    if component is not None and not (
        actor.is_superuser or component.owners.filter(pk=actor.pk).exists()
    ):
        raise PermissionDenied("Only the component's owners can submit it for review.")
    justification = _required_text(
        justification, "justification", "Explain why this component should be open-sourced."
    )
    if component is not None:
        _ensure_no_active_submission(component)
    # Before git is asked anything: is the URL allowed, and not another component's?
    try:
        repositories.check_url((repository_url or "").strip())
    except ValidationError as exc:
        raise ValidationError({"repository_url": exc.messages}) from exc
    if not repositories.is_free_for(repository_url, component):
        raise ValidationError({"repository_url": [repositories.TAKEN]})
    commit = resolve_branch_head(repository_url=repository_url, branch=branch)

    departments = list(Department.objects.filter(is_active=True).select_related("reviewer_group"))
    if not departments:
        raise ValidationError("No reviewing departments are configured.")
    try:
        with transaction.atomic():
            created = component is None
            if created:
                component = component_create(actor=actor, draft=new_component)
            component = Component.objects.select_for_update().get(pk=component.pk)
            _ensure_no_active_submission(component)
            try:
                repository = repositories.repository_bind(
                    component=component, url=repository_url, role=repositories.INTERNAL,
                    actor=actor,
                )  # fmt: skip
            except ValidationError as exc:
                raise ValidationError({"repository_url": exc.messages}) from exc
            repository_record_head(repository=repository, branch=branch, commit=commit)
            submission = Submission.objects.create(
                component=component,
                repository=repository,
                branch=branch,
                commit=commit,
                scope=component.review_scope(),
                justification=justification,
                submitted_by=actor,
            )
            tickets = ReviewTicket.objects.bulk_create(
                ReviewTicket(submission=submission, department=department)
                for department in departments
            )
            for ticket, department in zip(tickets, departments, strict=True):
                ticket.department = department
                ticket.submission = submission
            _grant_submission_access(submission=submission, tickets=tickets)
            audit_record(
                actor=actor,
                action="submission.created",
                obj=submission,
                after={
                    "repository": repository_url,
                    "branch": branch,
                    "commit": commit,
                    "departments": [d.slug for d in departments],
                },
                scope=component.audit_scope,
            )
            component_set_stage(component=component, stage=Stage.IN_REVIEW, actor=actor)
            _request_scan(submission=submission, actor=actor)
            _announce_review_change(submission)
    except IntegrityError as exc:
        # Two submissions of one component racing: the partial unique index decides.
        raise ValidationError(
            {"component": ["This component already has a submission under review."]}
        ) from exc
    return SubmitResult(submission=submission, component_created=created)


def _ensure_no_active_submission(component: Component) -> None:
    active = (
        Submission.objects.filter(component=component, state__in=ACTIVE_SUBMISSION_STATES)
        .only("pk", "state")
        .first()
    )
    if active is not None:
        raise ValidationError(
            {
                "component": [
                    f"{component} already has submission #{active.pk} "
                    f"({active.get_state_display().lower()}); refresh or withdraw that one."
                ]
            }
        )


def _request_scan(*, submission: Submission, actor) -> None:
    """Scan the submission's commit (queued after commit), when automatic scans are on."""
    if settings.GATEHOUSE_SCAN_ON_SUBMIT:
        scan_request(
            repository=submission.repository, commit=submission.commit,
            component=submission.component, actor=actor,
        )  # fmt: skip


def submission_scan_finished(*, scan_id: int) -> int:
    """A scan finished: a blocking finding it raised that the previous scan of this
    component did not have makes the owning department's current sign-offs on that commit
    stale, sends its ticket back to review and an approved submission back to "in review".
    Returns the number of sign-offs made stale. Idempotent: a second call finds nothing new.
    """
    scan = ScanRun.objects.filter(pk=scan_id).select_related("component").first()
    if scan is None or scan.component_id is None:
        return 0
    new_kinds = new_blocking_kinds(scan)
    departments = {KIND_DEPARTMENT[k] for k in new_kinds if k in KIND_DEPARTMENT}
    if not departments:
        return 0
    stale = 0
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("component")
            .filter(component=scan.component_id, commit=scan.commit,
                    state__in=ACTIVE_SUBMISSION_STATES)
            .first()
        )  # fmt: skip
        if submission is None:
            return 0
        tickets = ReviewTicket.objects.select_for_update().filter(
            submission=submission, department__slug__in=departments
        )
        now = timezone.now()
        for ticket in tickets.select_related("department"):
            ticket.submission = submission
            count = SignOff.objects.filter(
                ticket=ticket, status=SignOffStatus.CURRENT, decision=Decision.APPROVE
            ).update(status=SignOffStatus.STALE, status_changed_at=now)
            if not count:
                continue
            stale += count
            audit_record(
                actor=None, action="signoff.stale_by_finding", obj=ticket,
                after={"scan": scan.pk, "stale_signoffs": count, "kinds": sorted(new_kinds)},
                scope=submission.component.audit_scope,
            )  # fmt: skip
            _ticket_transition(
                ticket=ticket,
                to_state=_derived_ticket_state(ticket=ticket, commit=submission.commit),
                actor=None, reason=f"new blocking finding in scan #{scan.pk}",
            )  # fmt: skip
        if stale and submission.state == SubmissionState.APPROVED:
            _submission_transition(
                submission=submission, to_state=SubmissionState.IN_REVIEW, actor=None,
                reason=f"new blocking finding in scan #{scan.pk}",
            )  # fmt: skip
    return stale


def _lock_submission(submission_id: int) -> Submission:
    # of=("self",): the submission row only. FOR UPDATE through the join would lock the
    # component (and, for tickets, the department) too, and a new submission's foreign
    # key checks on those rows at its commit then deadlock with sign-offs waiting for the
    # audit chain head that submission holds.
    return (
        Submission.objects.select_for_update(of=("self",))
        .select_related("component")
        .get(pk=submission_id)
    )


@dataclass
class RefreshResult:
    submission: Submission
    moved: bool
    old_commit: str
    new_commit: str
    stale_signoffs: int


# --------------------------------------------------------------------------- carry forward


def change_touches_export(*, component: Component, old_commit: str, new_commit: str) -> bool:
    """Whether going from ``old_commit`` to ``new_commit`` adds, changes, removes or renames
    a file that is published under the export plan of either commit. True (touches) when
    it cannot be told: a commit missing from the mirror, no mirror, an error."""
    if component.internal_repository_id is None:
        return True
    try:
        try:
            old_plan = export_plan_for(component, old_commit)
            new_plan = export_plan_for(component, new_commit)
        except vcs.VcsError:
            internal_mirror(component, fetch=True)  # the new head is not fetched yet
            old_plan = export_plan_for(component, old_commit)
            new_plan = export_plan_for(component, new_commit)
        changed = vcs.changed_paths(internal_mirror(component), old_commit, new_commit)
    except vcs.VcsError:
        return True
    return any(old_plan.is_published(p) or new_plan.is_published(p) for p in changed)


def _carry_forward_departments(*, submission: Submission, new_commit: str) -> frozenset[int]:
    """Departments whose current approvals survive the move to ``new_commit``: those that
    chose ``carry_forward_unexported``, when the change touches no exported file. Reads
    git (may fetch), so call it before the transaction."""
    if new_commit == submission.commit:
        return frozenset()
    departments = frozenset(
        submission.tickets.filter(department__carry_forward_unexported=True).values_list(
            "department_id", flat=True
        )
    )
    if not departments:
        return frozenset()
    component = Component.objects.select_related("internal_repository").get(
        pk=submission.component_id
    )
    if change_touches_export(
        component=component, old_commit=submission.commit, new_commit=new_commit
    ):
        return frozenset()
    return departments


def _carry_forward(
    *, submission: Submission, signoffs: list[SignOff], old_commit: str, commit: str, actor
) -> None:
    """Supersede each of ``signoffs`` (current approvals on ``old_commit``) by a copy bound
    to ``commit`` with the same reviewer, scope and checklist answers; audited, naming
    the sign-off and both commits."""
    now = timezone.now()
    for old in signoffs:
        old.status = SignOffStatus.SUPERSEDED
        old.status_changed_at = now
        old.save(update_fields=["status", "status_changed_at"])
        new = SignOff.objects.create(
            ticket=old.ticket, reviewer=old.reviewer, decision=old.decision, commit=commit,
            scope_digest=old.scope_digest,
            comment=f"Carried forward from {old_commit[:10]}: the change touches no "
                    "exported file.",
        )  # fmt: skip
        ChecklistAnswer.objects.bulk_create(
            ChecklistAnswer(signoff=new, question_id=a.question_id, answer=a.answer, note=a.note)
            for a in old.answers.all()
        )
        audit_record(
            actor=actor, action="signoff.carried_forward", obj=new,
            before={"signoff": old.pk, "commit": old_commit},
            after={"signoff": new.pk, "commit": commit, "reviewer": old.reviewer.get_username(),
                   "department": old.ticket.department.slug,
                   "reason": "the change touches no exported file"},
            scope=submission.component.audit_scope,
        )  # fmt: skip


def _move_to_commit(
    *, submission: Submission, commit: str, actor, carry: frozenset[int] = frozenset()
) -> int:
    """Re-pin a locked submission to ``commit``: every current sign-off goes stale and every
    ticket that is not rejected goes back to needing review. Returns the stale count.

    The current approvals of the departments in ``carry`` (see _carry_forward_departments)
    are carried forward to ``commit`` instead, and their tickets keep their state."""
    now = timezone.now()
    old_commit = submission.commit
    carried = list(
        SignOff.objects.filter(
            ticket__submission=submission, status=SignOffStatus.CURRENT,
            decision=Decision.APPROVE, commit=old_commit, ticket__department_id__in=carry,
        )
        .select_related("reviewer", "ticket__department")
        .prefetch_related("answers")
    )  # fmt: skip
    stale = (
        SignOff.objects.filter(ticket__submission=submission, status=SignOffStatus.CURRENT)
        .exclude(pk__in=[s.pk for s in carried])
        .update(status=SignOffStatus.STALE, status_changed_at=now)
    )
    submission.previous_commit = old_commit
    submission.commit = commit
    submission.commit_moved_at = now
    submission.save(update_fields=["previous_commit", "commit", "commit_moved_at", "updated_at"])
    audit_record(
        actor=actor,
        action="submission.commit_moved",
        obj=submission,
        before={"commit": old_commit},
        after={"commit": commit, "stale_signoffs": stale, "carried_forward": len(carried)},
        scope=submission.component.audit_scope,
    )
    _carry_forward(
        submission=submission, signoffs=carried, old_commit=old_commit, commit=commit, actor=actor
    )
    _request_scan(submission=submission, actor=actor)
    tickets = ReviewTicket.objects.select_for_update().filter(submission=submission)
    for ticket in tickets.select_related("department"):
        ticket.submission = submission
        if ticket.state in (TicketState.APPROVED, TicketState.IN_REVIEW):
            kept = ticket.department_id in carry
            _ticket_transition(
                ticket=ticket,
                to_state=_derived_ticket_state(ticket=ticket, commit=commit)
                if kept
                else TicketState.OPEN,
                actor=actor,
                reason="commit moved; approvals carried forward" if kept else "commit moved",
            )
    _announce_review_change(submission)
    return stale


def _not_all_approved(submission: Submission) -> bool:
    return submission.tickets.exclude(state=TicketState.APPROVED).exists()


def submission_refresh(*, submission: Submission, actor) -> RefreshResult:
    """Re-resolve the submission's branch; if the head moved, re-pin the review to it.

    On a move every current sign-off goes stale, approved and in-review tickets go back
    to needing review (their reviewers are told again), the new commit's scan is queued,
    and an approved submission returns to review; except that a department with
    ``carry_forward_unexported`` keeps its approvals (copied to the new commit, audited)
    when the change touches no exported file under the export plans of both commits (the
    mirror is fetched first to tell). Idempotent: refreshing an unmoved branch changes
    nothing.
    """
    return _refresh(submission=submission, actor=actor, denial=partial(rules.refresh_denial, actor))


def _push_denial(submission: Submission) -> str | None:
    if submission.state not in (SubmissionState.IN_REVIEW, SubmissionState.CHANGES_REQUESTED):
        return (
            f"The submission is {submission.get_state_display().lower()}: a push does not "
            "reopen a settled review (its people refresh it by hand)."
        )
    return None


def submission_refresh_by_push(*, submission: Submission) -> RefreshResult:
    """The system's refresh, for a verified push webhook to the submission's branch.

    As ``submission_refresh``, audited as the system. No person asks, so no person's
    permission is checked: the hook's secret proved the forge. The branch is resolved
    from the repository, never read from the webhook's body. Only a submission still
    under review follows its branch by itself: an approval is not undone by a push, so a
    settled submission raises PermissionDenied with the reason. Idempotent.
    """
    return _refresh(submission=submission, actor=None, denial=_push_denial)


def _refresh(
    *, submission: Submission, actor, denial: Callable[[Submission], str | None]
) -> RefreshResult:
    if reason := denial(submission):
        raise PermissionDenied(reason)
    repository = bound_repository(submission)
    head = resolve_branch_head(repository_url=repository.url, branch=submission.branch)
    carry = _carry_forward_departments(submission=submission, new_commit=head)
    with transaction.atomic():
        locked = _lock_submission(submission.pk)
        if reason := denial(locked):
            raise PermissionDenied(reason)
        bound_repository(locked)
        repository_record_head(repository=repository, branch=locked.branch, commit=head)
        old = locked.commit
        stale = 0
        if head != old:
            stale = _move_to_commit(
                submission=locked, commit=head, actor=actor,
                carry=carry if old == submission.commit else frozenset(),
            )  # fmt: skip
            if locked.state == SubmissionState.APPROVED and _not_all_approved(locked):
                _submission_transition(
                    submission=locked,
                    to_state=SubmissionState.IN_REVIEW,
                    actor=actor,
                    reason="commit moved after approval",
                )
    return RefreshResult(
        submission=locked, moved=head != old, old_commit=old, new_commit=head, stale_signoffs=stale
    )


def submission_resubmit(*, submission: Submission, actor, response: str) -> RefreshResult:
    """Answer requested changes and send the submission back to review.

    Records ``response`` as a comment, re-resolves the branch (a moved head makes every
    sign-off stale), marks the answered change requests superseded, re-derives each
    ticket's state and moves the submission to "in review". Raises ValidationError when
    nothing was requested or the response is empty.
    """
    denial = rules.refresh_denial(actor, submission)
    if denial:
        raise PermissionDenied(denial)
    response = _required_text(response, "response", "Say what you changed for the reviewers.")
    if submission.state != SubmissionState.CHANGES_REQUESTED:
        raise ValidationError("Only a submission with requested changes can be resubmitted.")
    repository = bound_repository(submission)
    head = resolve_branch_head(repository_url=repository.url, branch=submission.branch)
    carry = _carry_forward_departments(submission=submission, new_commit=head)
    with transaction.atomic():
        locked = _lock_submission(submission.pk)
        if locked.state != SubmissionState.CHANGES_REQUESTED:
            raise ValidationError("Only a submission with requested changes can be resubmitted.")
        bound_repository(locked)
        repository_record_head(repository=repository, branch=locked.branch, commit=head)
        old = locked.commit
        stale = 0
        if head != old:
            stale = _move_to_commit(
                submission=locked, commit=head, actor=actor,
                carry=carry if old == submission.commit else frozenset(),
            )  # fmt: skip
        SignOff.objects.filter(
            ticket__submission=locked,
            status=SignOffStatus.CURRENT,
            decision=Decision.REQUEST_CHANGES,
        ).update(status=SignOffStatus.SUPERSEDED, status_changed_at=timezone.now())
        Comment.objects.create(submission=locked, author=actor, body=response)
        for ticket in (
            ReviewTicket.objects.select_for_update(of=("self",))
            .filter(submission=locked)
            .select_related("department")
        ):
            ticket.submission = locked
            _ticket_transition(
                ticket=ticket,
                to_state=_derived_ticket_state(ticket=ticket, commit=locked.commit),
                actor=actor,
                reason="resubmitted",
            )
        _submission_transition(
            submission=locked, to_state=SubmissionState.IN_REVIEW, actor=actor, reason="resubmitted"
        )
        audit_record(
            actor=actor,
            action="submission.resubmitted",
            obj=locked,
            after={"commit": locked.commit, "response": response[:500]},
            scope=locked.component.audit_scope,
        )
    return RefreshResult(
        submission=locked, moved=head != old, old_commit=old, new_commit=head, stale_signoffs=stale
    )


def submission_withdraw(*, submission: Submission, actor, reason: str) -> Submission:
    """Withdraw a live submission; it takes no more decisions. Idempotent for the withdrawn."""
    denial = rules.refresh_denial(actor, submission)
    if denial and submission.state != SubmissionState.WITHDRAWN:
        raise PermissionDenied(denial)
    reason = _required_text(reason, "reason", "Say why the submission is withdrawn.")
    with transaction.atomic():
        locked = _lock_submission(submission.pk)
        if locked.state == SubmissionState.WITHDRAWN:
            return locked
        Comment.objects.create(submission=locked, author=actor, body=f"Withdrawn: {reason}")
        _submission_transition(
            submission=locked, to_state=SubmissionState.WITHDRAWN, actor=actor, reason=reason
        )
        _announce_review_change(locked)
    return locked


def _clean_answers(
    *, department: Department, decision: str, answers: Mapping[int, tuple[str, str]]
) -> list[tuple[ChecklistQuestion, str, str]]:
    """Validate checklist answers against the department's questions.

    An approval needs every question answered and none answered "no"; other decisions
    may leave questions open.
    """
    questions = list(department.questions.filter(is_active=True))
    by_id = {q.pk: q for q in questions}
    unknown = set(answers) - set(by_id)
    if unknown:
        raise ValidationError(
            {"answers": [f"Question(s) {sorted(unknown)} are not on the {department} checklist."]}
        )
    cleaned = []
    missing, refused = [], []
    for question in questions:
        answer, note = answers.get(question.pk, ("", ""))
        if not answer:
            missing.append(question.text)
            continue
        if answer not in Answer.values:
            raise ValidationError(
                {"answers": [f"'{answer}' is not an answer; use yes, no or n/a."]}
            )
        if answer == Answer.NO:
            refused.append(question.text)
        cleaned.append((question, answer, (note or "").strip()[:500]))
    if decision == Decision.APPROVE:
        if missing:
            raise ValidationError(
                {"answers": [f"Answer every checklist question before approving: {missing[0]}"]}
            )
        if refused:
            raise ValidationError(
                {
                    "answers": [
                        f"You answered no to '{refused[0]}'; request changes instead of approving."
                    ]
                }
            )
    return cleaned


def signoff_create(
    *,
    ticket: ReviewTicket,
    actor,
    decision: str,
    comment: str = "",
    answers: Mapping[int, tuple[str, str]] | None = None,
    expected_commit: str | None = None,
) -> SignOff:
    """Record a reviewer's decision on a ticket, bound to the submission's current commit.

    Locks the submission, then the ticket. Enforces separation of duties (not the
    submitter, not an owner, one department per person per submission, a person counts
    once), requires a comment unless approving, and refuses a decision made against a
    commit the branch has since moved from. The reviewer's earlier decision on this
    ticket is superseded. Then re-derives the ticket's state and, from all tickets, the
    submission's: any rejection rejects it, a change request asks for changes, every
    department approved approves it (and the component). The submitter is told through
    the audit event (the notifications outbox).
    """
    if decision not in Decision.values:
        raise ValidationError({"decision": ["Choose approve, request_changes or reject."]})
    comment = (comment or "").strip()
    if decision != Decision.APPROVE and not comment:
        raise ValidationError({"comment": ["Say what needs to change: a comment is required."]})
    if len(comment) > MAX_TEXT:
        raise ValidationError({"comment": [f"Keep it under {MAX_TEXT} characters."]})

    with transaction.atomic():
        submission = _lock_submission(ticket.submission_id)
        ticket = (
            ReviewTicket.objects.select_for_update(of=("self",))
            .select_related("department")
            .get(pk=ticket.pk)
        )
        ticket.submission = submission
        denial = rules.signoff_denial(actor, ticket)
        if denial:
            raise PermissionDenied(denial)
        if expected_commit and expected_commit != submission.commit:
            raise ValidationError(
                {
                    "commit": [
                        f"The branch moved to {submission.short_commit} after you opened the "
                        f"review of {expected_commit[:10]}; review the new commit and decide again."
                    ]
                }
            )
        cleaned = _clean_answers(
            department=ticket.department, decision=decision, answers=answers or {}
        )
        mine = ticket.signoffs.filter(reviewer=actor, status=SignOffStatus.CURRENT).first()
        if mine is not None and mine.decision == decision and decision == Decision.APPROVE:
            raise ValidationError("You have already approved this commit.")
        if decision == Decision.APPROVE:
            elsewhere = (
                SignOff.objects.filter(
                    ticket__submission=submission,
                    reviewer=actor,
                    decision=Decision.APPROVE,
                    status=SignOffStatus.CURRENT,
                )
                .exclude(ticket=ticket)
                .select_related("ticket__department")
                .first()
            )
            if elsewhere is not None:
                raise PermissionDenied(
                    f"You already approved this submission for {elsewhere.ticket.department}; "
                    "one person approves for one department only."
                )
        if mine is not None:
            mine.status = SignOffStatus.SUPERSEDED
            mine.status_changed_at = timezone.now()
            mine.save(update_fields=["status", "status_changed_at"])
        component = Component.objects.select_related("external_repository").get(
            pk=submission.component_id
        )
        signoff = SignOff.objects.create(
            ticket=ticket,
            reviewer=actor,
            decision=decision,
            commit=submission.commit,
            scope_digest=component.scope_digest,
            comment=comment,
        )
        ChecklistAnswer.objects.bulk_create(
            ChecklistAnswer(signoff=signoff, question=q, answer=a, note=n) for q, a, n in cleaned
        )
        audit_record(
            actor=actor,
            action=f"signoff.{decision}",
            obj=signoff,
            after={
                "ticket": ticket.pk,
                "department": ticket.department.slug,
                "commit": submission.commit,
                "scope": component.review_scope(),
                "comment": comment[:500],
                "answers": {str(q.pk): a for q, a, _ in cleaned},
            },
            scope=submission.component.audit_scope,
        )
        if comment:
            Comment.objects.create(submission=submission, ticket=ticket, author=actor, body=comment)
        _ticket_transition(
            ticket=ticket,
            to_state=_derived_ticket_state(ticket=ticket, commit=submission.commit),
            actor=actor,
        )
        _settle_submission(submission=submission, actor=actor)
        _announce_review_change(submission)
    return signoff


def _announce_review_change(submission: Submission) -> None:
    transaction.on_commit(
        partial(review_changed.send, sender=Submission, component_id=submission.component_id)
    )


def _settle_submission(*, submission: Submission, actor) -> None:
    """Derive the locked submission's state from its tickets."""
    states = list(submission.tickets.values_list("state", flat=True))
    if TicketState.REJECTED in states:
        target = SubmissionState.REJECTED
    elif TicketState.CHANGES_REQUESTED in states:
        target = SubmissionState.CHANGES_REQUESTED
    elif states and all(state == TicketState.APPROVED for state in states):
        target = SubmissionState.APPROVED
    else:
        target = SubmissionState.IN_REVIEW
    _submission_transition(submission=submission, to_state=target, actor=actor)


def comment_create(
    *, submission: Submission, actor, body: str, ticket: ReviewTicket | None = None
) -> Comment:
    """Add a comment to a submission (or one of its tickets) that ``actor`` can see."""
    if ticket is not None and ticket.submission_id != submission.pk:
        raise ValidationError({"ticket": ["That ticket belongs to another submission."]})
    visible = (
        rules.can_view_ticket(actor, ticket)
        if ticket
        else rules.can_view_submission(actor, submission)
    )
    if not visible:
        raise PermissionDenied("You cannot comment here.")
    body = _required_text(body, "body", "Write a comment first.")
    with transaction.atomic():
        comment = Comment.objects.create(
            submission=submission, ticket=ticket, author=actor, body=body
        )
        audit_record(
            actor=actor,
            action="comment.created",
            obj=comment,
            after={"submission": submission.pk, "ticket": ticket.pk if ticket else None},
            scope=submission.component.audit_scope,
        )
    return comment


# --------------------------------------------------------------------------- review scope


SCOPE_LABELS = {
    "license": "License",
    "open_paths": "Open paths",
    "internal_paths": "Internal paths",
    "export_from_prefix": "Internal folder published elsewhere",
    "export_to_prefix": "Where that folder lands outside",
    "external_repository": "External repository",
    "external_branch": "External branch",
}


def scope_changes(before: dict, after: dict) -> list[tuple[str, object, object]]:
    """(label, before, after) for each part of the review scope that differs."""
    return [
        (label, before.get(key), after.get(key))
        for key, label in SCOPE_LABELS.items()
        if before.get(key) != after.get(key)
    ]


def component_scope_update(*, component: Component, actor, **changes) -> int:
    """Change what the departments approve besides the commit: the license, the open and
    internal paths, the prefix mapping, the external repository and branch (any of
    ``governance.services.SCOPE_FIELDS``). Owners and admins.

    In one transaction: the component's new values (validated first; the external
    repository bound through the registry), and when anything changed, on its live
    submission every current sign-off goes stale, approved and in-review tickets go back
    to needing review (their reviewers are told again), an approved submission (and
    component) returns to review, and the submission records the scope before and after.
    Audited. Returns the number of sign-offs made stale; nothing changes and nothing is
    recorded when the values are the same."""
    with transaction.atomic():
        before, after = component_scope_apply(component=component, actor=actor, changes=changes)
        if before == after:
            return 0
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("component")
            .filter(component=component, state__in=ACTIVE_SUBMISSION_STATES)
            .first()
        )
        if submission is None:
            # No review to reopen, but the gates read the scope (what is published, and
            # where): the component's open releases are judged again.
            transaction.on_commit(
                partial(review_changed.send, sender=Submission, component_id=component.pk)
            )
            return 0
        now = timezone.now()
        stale = SignOff.objects.filter(
            ticket__submission=submission, status=SignOffStatus.CURRENT
        ).update(status=SignOffStatus.STALE, status_changed_at=now)
        submission.previous_scope = submission.scope or before
        submission.scope = after
        submission.scope_changed_at = now
        submission.save(update_fields=["previous_scope", "scope", "scope_changed_at", "updated_at"])
        audit_record(
            actor=actor, action="submission.scope_changed", obj=submission,
            before={k: before[k] for k in after if after[k] != before[k]},
            after={**{k: after[k] for k in after if after[k] != before[k]},
                   "stale_signoffs": stale},
            scope=submission.component.audit_scope,
        )  # fmt: skip
        tickets = ReviewTicket.objects.select_for_update().filter(submission=submission)
        for ticket in tickets.select_related("department"):
            ticket.submission = submission
            if ticket.state in (TicketState.APPROVED, TicketState.IN_REVIEW):
                _ticket_transition(
                    ticket=ticket, to_state=TicketState.OPEN, actor=actor,
                    reason="the review scope changed",
                )  # fmt: skip
        if submission.state == SubmissionState.APPROVED:
            _submission_transition(
                submission=submission, to_state=SubmissionState.IN_REVIEW, actor=actor,
                reason="the review scope changed after approval",
            )  # fmt: skip
        else:
            fresh = Component.objects.select_for_update().get(pk=component.pk)
            if fresh.stage in (Stage.APPROVED, Stage.RELEASED):
                component_set_stage(
                    component=fresh, stage=Stage.IN_REVIEW, actor=actor,
                    reason="the review scope changed",
                )  # fmt: skip
        _announce_review_change(submission)
    return stale


def component_set_external(
    *, component: Component, actor, url: str, branch: str = "main", from_prefix: str = "",
    to_prefix: str = "",
) -> int:  # fmt: skip
    """Set where the component's open scope is published (and the prefix mapping): the
    destination part of ``component_scope_update``, with all of its effects."""
    return component_scope_update(
        component=component, actor=actor, external_url=url, external_branch=branch,
        from_prefix=from_prefix, to_prefix=to_prefix,
    )  # fmt: skip


# --------------------------------------------------------------------------- reopening


def ticket_reopen(
    *, component: Component, department: Department, reason: str, actor=None
) -> ReviewTicket | None:
    """Send ``department``'s review of ``component`` back to needing review (a leak found in
    the external repository, say). On the component's latest submission (not withdrawn:
    the one its releases were reviewed on), the department's current approvals go stale
    (audited), its ticket moves to open (audited with ``reason``; the notifications outbox
    tells its reviewers why), and an approved submission returns to review, the component
    with it, so that the department decides again in the normal way; till it has, the
    reviews gate of the component's open releases blocks (re-evaluated after commit).
    Idempotent: a ticket already open, waiting on requested changes or rejected is left
    as it is, and None returned; else the reopened ticket."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update(of=("self",))
            .select_related("component")
            .filter(component=component)
            .exclude(state=SubmissionState.WITHDRAWN)
            .order_by("-created_at", "-id")
            .first()
        )
        if submission is None:
            return None
        ticket = (
            ReviewTicket.objects.select_for_update(of=("self",))
            .select_related("department")
            .filter(submission=submission, department=department)
            .first()
        )
        if ticket is None or ticket.state not in (TicketState.APPROVED, TicketState.IN_REVIEW):
            return None
        ticket.submission = submission
        stale = SignOff.objects.filter(
            ticket=ticket, status=SignOffStatus.CURRENT, decision=Decision.APPROVE
        ).update(status=SignOffStatus.STALE, status_changed_at=timezone.now())
        if stale:
            audit_record(
                actor=actor, action="ticket.signoffs_stale", obj=ticket,
                after={"stale_signoffs": stale, "reason": reason[:500]},
                scope=submission.component.audit_scope,
            )  # fmt: skip
        _ticket_transition(ticket=ticket, to_state=TicketState.OPEN, actor=actor, reason=reason)
        if submission.state == SubmissionState.APPROVED:
            _submission_transition(
                submission=submission, to_state=SubmissionState.IN_REVIEW, actor=actor,
                reason=reason,
            )  # fmt: skip
        _announce_review_change(submission)
    return ticket
