"""Reads for the portfolio dashboard: one row per component, counters, filters.

Every page costs the same number of queries whatever the size of the portfolio: the page
of components comes with the ids of its latest submission, scan and release annotated
(correlated subqueries over indexed columns), and what hangs off those ids (tickets, stale
sign-offs, blocking-finding counts, releases) is fetched in one query each for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from governance.enums import Stage
from governance.models import Component, Department
from governance.selectors import visible_components
from releases.enums import ReleaseState
from releases.models import Release, SyncState
from reviews.enums import PENDING_TICKET_STATES, SignOffStatus, SubmissionState, TicketState
from reviews.models import ReviewTicket, SignOff, Submission
from scans.enums import FINISHED_STATUSES, Severity
from scans.models import Finding, ScanRun
from scans.selectors import UNSETTLED

SORTS = {
    "name": ("name",),
    "-name": ("-name",),
    "stage": ("stage", "name"),
    "-updated": ("-updated_at", "name"),
    "updated": ("updated_at", "name"),
}
DEPARTMENT_CHIPS = {
    TicketState.APPROVED: "approved",
    TicketState.OPEN: "pending",
    TicketState.IN_REVIEW: "pending",
    TicketState.CHANGES_REQUESTED: "changes_requested",
    TicketState.REJECTED: "rejected",
}


@dataclass
class PortfolioFilters:
    stage: str = ""
    blocked: bool = False
    waiting_on: str = ""  # a department slug
    owner: str = ""  # a username
    q: str = ""
    sort: str = "name"

    @classmethod
    def from_params(cls, params) -> PortfolioFilters:
        sort = params.get("sort", "name")
        stage = params.get("stage", "")
        return cls(
            stage=stage if stage in Stage.values else "",
            blocked=params.get("blocked") in ("1", "true", "on"),
            waiting_on=params.get("waiting_on", "")[:50],
            owner=params.get("owner", "")[:150],
            q=params.get("q", "").strip()[:100],
            sort=sort if sort in SORTS else "name",
        )


@dataclass
class PortfolioRow:
    component: Component
    departments: list[tuple[str, str, str]] = field(default_factory=list)  # slug, name, chip
    blocking: dict[str, int] = field(default_factory=dict)
    submission: Submission | None = None
    release: Release | None = None
    scan: ScanRun | None = None
    #: The newest sync; None without an external repository or before the first sync.
    sync: SyncState | None = None

    @property
    def has_external(self) -> bool:
        return self.component.external_repository_id is not None

    @property
    def blocking_total(self) -> int:
        return sum(self.blocking.values())

    @property
    def scan_age_days(self) -> int | None:
        if self.scan is None or self.scan.finished_at is None:
            return None
        return (timezone.now() - self.scan.finished_at).days


def _latest_submission():
    return (
        Submission.objects.filter(component=OuterRef("pk"))
        .exclude(state=SubmissionState.WITHDRAWN)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def _latest_scan():
    return (
        ScanRun.objects.filter(component=OuterRef("pk"), status__in=FINISHED_STATUSES)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def _latest_release():
    return (
        Release.objects.filter(component=OuterRef("pk"))
        .exclude(state=ReleaseState.CANCELLED)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def _latest_sync():
    return (
        SyncState.objects.filter(component=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )


def portfolio_queryset(user, filters: PortfolioFilters) -> QuerySet[Component]:
    """The visible components, filtered and sorted, with the ids of their latest
    submission, finished scan, release and sync annotated."""
    qs = visible_components(user).annotate(
        latest_submission_id=Subquery(_latest_submission()),
        latest_scan_id=Subquery(_latest_scan()),
        latest_release_id=Subquery(_latest_release()),
        latest_sync_id=Subquery(_latest_sync()),
    )
    if filters.stage:
        qs = qs.filter(stage=filters.stage)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(slug__icontains=filters.q))
    if filters.owner:
        qs = qs.filter(owners__username=filters.owner)
    if filters.blocked:
        qs = qs.filter(
            Exists(
                Release.objects.filter(pk=OuterRef("latest_release_id"), state=ReleaseState.BLOCKED)
            )
        )
    if filters.waiting_on:
        qs = qs.filter(
            Exists(
                ReviewTicket.objects.filter(
                    submission_id=OuterRef("latest_submission_id"),
                    department__slug=filters.waiting_on,
                    state__in=PENDING_TICKET_STATES,
                )
            )
        )
    return qs.order_by(*SORTS[filters.sort])


def portfolio_rows(components: list[Component]) -> list[PortfolioRow]:
    """Rows for one page of ``portfolio_queryset``: a fixed number of queries."""
    submission_ids = [c.latest_submission_id for c in components if c.latest_submission_id]
    scan_ids = [c.latest_scan_id for c in components if c.latest_scan_id]
    release_ids = [c.latest_release_id for c in components if c.latest_release_id]
    sync_ids = [
        c.latest_sync_id for c in components if c.latest_sync_id and c.external_repository_id
    ]

    submissions = Submission.objects.in_bulk(submission_ids)
    tickets: dict[int, list[ReviewTicket]] = {}
    for ticket in ReviewTicket.objects.filter(submission_id__in=submission_ids).select_related(
        "department"
    ):
        tickets.setdefault(ticket.submission_id, []).append(ticket)
    stale_tickets = set(
        SignOff.objects.filter(
            ticket__submission_id__in=submission_ids, status=SignOffStatus.STALE
        ).values_list("ticket_id", flat=True)
    )
    scans = ScanRun.objects.in_bulk(scan_ids)
    blocking: dict[int, dict[str, int]] = {}
    for scan_id, kind, n in (
        Finding.objects.filter(UNSETTLED, scan_id__in=scan_ids, severity=Severity.BLOCKING)
        .values_list("scan_id", "kind")
        .annotate(n=Count("id"))
        .values_list("scan_id", "kind", "n")
    ):
        blocking.setdefault(scan_id, {})[kind] = n
    releases = Release.objects.in_bulk(release_ids)
    # Only what the chip needs: the lists of commits a sync keeps can be long.
    syncs = SyncState.objects.only("id", "status", "checked_at").in_bulk(sync_ids)

    rows = []
    for component in components:
        row = PortfolioRow(component=component)
        row.submission = submissions.get(component.latest_submission_id)
        for ticket in sorted(
            tickets.get(component.latest_submission_id, ()),
            key=lambda t: (t.department.position, t.department.name),
        ):
            chip = DEPARTMENT_CHIPS.get(ticket.state, ticket.state)
            if chip == "pending" and ticket.pk in stale_tickets:
                chip = "stale"
            row.departments.append((ticket.department.slug, ticket.department.name, chip))
        row.scan = scans.get(component.latest_scan_id)
        row.blocking = blocking.get(component.latest_scan_id, {})
        row.release = releases.get(component.latest_release_id)
        row.sync = syncs.get(component.latest_sync_id)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Counters:
    components: int
    by_stage: dict[str, int]
    releases_blocked: int
    releases_ready: int
    open_blocking_findings: int
    pending_tickets: int


def portfolio_counters(user) -> Counters:
    """The numbers on top of the portfolio, over every visible component: four queries."""
    visible = visible_components(user)
    by_stage = dict(
        visible.order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    releases = dict(
        Release.objects.filter(pk__in=visible.annotate(r=Subquery(_latest_release())).values("r"))
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    findings = Finding.objects.filter(
        UNSETTLED,
        scan_id__in=visible.annotate(s=Subquery(_latest_scan())).values("s"),
        severity=Severity.BLOCKING,
    ).count()
    pending = ReviewTicket.objects.filter(
        submission_id__in=visible.annotate(s=Subquery(_latest_submission())).values("s"),
        state__in=PENDING_TICKET_STATES,
    ).count()
    return Counters(
        components=sum(by_stage.values()),
        by_stage=by_stage,
        releases_blocked=releases.get(ReleaseState.BLOCKED, 0),
        releases_ready=releases.get(ReleaseState.READY, 0),
        open_blocking_findings=findings,
        pending_tickets=pending,
    )


def filter_choices() -> dict:
    """Departments and owners for the filter form: two queries."""
    User = get_user_model()
    return {
        "departments": list(Department.objects.filter(is_active=True).values_list("slug", "name")),
        "owners": list(
            User.objects.filter(owned_components__isnull=False)
            .distinct()
            .order_by("username")
            .values_list("username", flat=True)
        ),
        "stages": Stage.choices,
        "sorts": [("name", "Name"), ("-updated", "Recently changed"), ("stage", "Stage")],
    }
