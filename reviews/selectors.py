"""Reads for pages and the API. Each returns a queryset whose query count does not grow
with the number of rows (related rows are joined or prefetched)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When, Window
from guardian.shortcuts import get_objects_for_user

from core.models import AuditEvent
from reviews.enums import (
    ACTIVE_SUBMISSION_STATES,
    DECIDABLE_SUBMISSION_STATES,
    PENDING_TICKET_STATES,
    SignOffStatus,
    TicketState,
)
from reviews.models import ReviewTicket, SignOff, Submission
from scans.detectors.dependencies import RULE_DECLARED, RULE_DENIED
from scans.enums import KIND_DEPARTMENT, FindingKind, ScanStatus
from scans.models import Finding, ScanRun


def visible_submissions(user) -> QuerySet[Submission]:
    if not user.is_authenticated:
        return Submission.objects.none()
    return get_objects_for_user(
        user, "reviews.view_submission", Submission.objects.all(), accept_global_perms=True
    )


def visible_tickets(user) -> QuerySet[ReviewTicket]:
    if not user.is_authenticated:
        return ReviewTicket.objects.none()
    return get_objects_for_user(
        user, "reviews.view_reviewticket", ReviewTicket.objects.all(), accept_global_perms=True
    )


def signable_tickets(user) -> QuerySet[ReviewTicket]:
    """Tickets of the departments ``user`` reviews for (not everything a superuser sees)."""
    if not user.is_authenticated:
        return ReviewTicket.objects.none()
    return get_objects_for_user(
        user,
        "reviews.sign_reviewticket",
        ReviewTicket.objects.all(),
        with_superuser=False,
        accept_global_perms=False,
    )


def submission_list(user) -> QuerySet[Submission]:
    return (
        visible_submissions(user)
        .select_related("component", "submitted_by", "repository")
        .prefetch_related(
            Prefetch(
                "tickets",
                queryset=ReviewTicket.objects.select_related("department").order_by(
                    "department__position", "department__name"
                ),
            )
        )
        .order_by("-created_at")
    )


def ticket_list(user) -> QuerySet[ReviewTicket]:
    return visible_tickets(user).select_related(
        "department", "submission__component", "submission__submitted_by"
    )


def reviewer_queue(user) -> QuerySet[ReviewTicket]:
    """Tickets waiting on the user's departments, oldest first, with approval counts."""
    return (
        signable_tickets(user)
        .filter(
            state__in=[*PENDING_TICKET_STATES, TicketState.CHANGES_REQUESTED],
            submission__state__in=DECIDABLE_SUBMISSION_STATES,
        )
        .select_related("department", "submission__component", "submission__submitted_by")
        .annotate(
            approvals=Count(
                "signoffs",
                filter=Q(signoffs__status=SignOffStatus.CURRENT, signoffs__decision="approve"),
            ),
            my_signoffs=Count(
                "signoffs",
                filter=Q(signoffs__status=SignOffStatus.CURRENT, signoffs__reviewer=user),
            ),
        )
        .order_by("created_at", "pk")
    )


def submission_detail(user, pk: int) -> Submission:
    """The submission with tickets, their current and past sign-offs, and comments."""
    signoffs = SignOff.objects.select_related("reviewer").prefetch_related("answers__question")
    return (
        visible_submissions(user)
        .select_related("component", "submitted_by", "repository")
        .prefetch_related(
            "component__owners",
            Prefetch(
                "tickets",
                queryset=ReviewTicket.objects.select_related("department").prefetch_related(
                    Prefetch("signoffs", queryset=signoffs)
                ),
            ),
            Prefetch("comments", queryset=_comment_queryset()),
        )
        .get(pk=pk)
    )


def _comment_queryset():
    from reviews.models import Comment

    return Comment.objects.select_related("author", "ticket__department")


def ticket_detail(user, pk: int) -> ReviewTicket:
    signoffs = SignOff.objects.select_related("reviewer").prefetch_related("answers__question")
    return (
        visible_tickets(user)
        .select_related(
            "department",
            "submission__component",
            "submission__submitted_by",
            "submission__repository",
        )
        .prefetch_related(
            "department__questions",
            "submission__component__owners",
            Prefetch("signoffs", queryset=signoffs),
            Prefetch("submission__comments", queryset=_comment_queryset()),
            Prefetch(
                "submission__tickets",
                queryset=ReviewTicket.objects.select_related("department"),
            ),
        )
        .get(pk=pk)
    )


def submission_timeline(submission: Submission) -> QuerySet[AuditEvent]:
    """Audit events of the submission, its tickets and its sign-offs, oldest first."""
    ticket_ids = [str(t.pk) for t in submission.tickets.all()]
    signoff_ids = [
        str(pk)
        for pk in SignOff.objects.filter(ticket__submission=submission).values_list("pk", flat=True)
    ]
    return AuditEvent.objects.filter(
        Q(object_type="reviews.submission", object_id=str(submission.pk))
        | Q(object_type="reviews.reviewticket", object_id__in=ticket_ids)
        | Q(object_type="reviews.signoff", object_id__in=signoff_ids)
    ).order_by("seq")


def live_submission(component) -> Submission | None:
    """The component's submission under review or approved, if any."""
    return (
        Submission.objects.filter(component=component, state__in=ACTIVE_SUBMISSION_STATES)
        .select_related("submitted_by")
        .first()
    )


#: Rows of the technical ticket's dependency table; the rest are counted, not listed.
DEPENDENCY_ROWS = 500
#: Scans whose findings list the declared dependencies (a failed scan's list is not one).
_LISTING_STATUSES = (ScanStatus.DONE, ScanStatus.INCOMPLETE)


@dataclass
class DependencyTable:
    """The declared dependencies of one finished scan, denied ones first, then by manifest
    and line. ``scan`` is None when no scan of the commit has finished yet."""

    scan: ScanRun | None = None
    rows: list[Finding] = field(default_factory=list)
    total: int = 0
    #: A newer scan of the commit is still queued or running (or failed).
    newer: ScanRun | None = None

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def shows_dependencies(ticket: ReviewTicket) -> bool:
    """Whether the ticket's department is the one that reads dependency findings (the
    technical department by default, scans.enums.DEPARTMENT_KINDS)."""
    return KIND_DEPARTMENT.get(FindingKind.DEPENDENCY) == ticket.department.slug


def ticket_dependencies(
    ticket: ReviewTicket, *, latest: ScanRun | None, limit: int = DEPENDENCY_ROWS
) -> DependencyTable:
    """The dependency table of the ticket page, from the submission's latest finished scan
    at its commit. ``latest`` is the newest scan of that commit as the page already read it
    (scans.selectors.latest_scan, which also keeps out scans of a repository another
    component holds): when it has finished it is used as is, else one query finds the
    newest finished one of the same repository, commit and component. The rows and their
    total are one query (a window count), however many there are."""
    if latest is None:
        return DependencyTable()
    scan, newer = latest, None
    if latest.status not in _LISTING_STATUSES:
        submission = ticket.submission
        newer = latest
        scan = (
            ScanRun.objects.filter(
                repository=submission.repository_id,
                commit=submission.commit,
                component=submission.component_id,
                status__in=_LISTING_STATUSES,
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if scan is None:
            return DependencyTable(newer=newer)
    rows = list(
        Finding.objects.filter(
            scan=scan, kind=FindingKind.DEPENDENCY, rule__in=[RULE_DECLARED, RULE_DENIED]
        )
        .annotate(
            total=Window(Count("id")),
            denied_first=Case(
                When(rule=RULE_DENIED, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
        )
        .only("pk", "path", "line", "rule", "severity", "state", "message", "data")
        .order_by("denied_first", "path", "line", "id")[:limit]
    )
    return DependencyTable(scan=scan, rows=rows, total=rows[0].total if rows else 0, newer=newer)
