"""Reads for the portfolio dashboard: one row per component, counters, filters.

Every page costs the same number of queries whatever the size of the portfolio: for the
page's components, the ids of their latest submission, scan, release and sync are looked
up by correlated subqueries over indexed columns (run for those fifty components only:
``_annotate_latest``), and what hangs off them (tickets, stale sign-offs, blocking-finding
counts, releases, syncs) is fetched in one query each. What runs over the whole
portfolio (the counters, the filters) finds each component's latest submission or
release with an anti-join ("no newer one"), one pass the database hashes, rather than
one look-up per component; the open blocking findings are added up from the finding
tallies (``releases.models.FindingTally``), not counted among a million findings.

Most of a page's time is then Python's, not the database's, and most of that was the
template: the chips come rendered once per distinct chip (``Fragments``) and the times
formatted (``Moment``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from governance.enums import Stage
from governance.models import Component, Department
from governance.selectors import visible_components, within_visible
from releases.enums import GateStatus, ReleaseState
from releases.models import ExternalAlert, FindingTally, Release, SyncState
from reviews.enums import (
    DECIDABLE_SUBMISSION_STATES,
    PENDING_TICKET_STATES,
    SignOffStatus,
    SubmissionState,
    TicketState,
)
from reviews.models import ReviewTicket, SignOff, Submission
from scans.enums import FINISHED_STATUSES, Severity, TriageState
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


class Fragments:
    """Template fragments rendered once per distinct content, for one page.

    A page of fifty rows shows some four hundred chips, but only fifty or so different
    ones (a handful of stages, department × review state, blocking findings by kind and
    number, release and sync states). Rendered where they stand, each through
    ``{% include %}`` or a dozen template nodes of its own, they took some 40 ms of a
    portfolio page on a two-core server (issue 12); rendered once each and reused, about
    6 ms. The markup stays in the templates. One per page, not per process: a template
    edited in development shows on the next page.
    """

    def __init__(self):
        self._rendered: dict[tuple, SafeString] = {}

    def __call__(self, template: str, **context) -> SafeString:
        key = (template, *sorted(context.items()))
        if key not in self._rendered:
            self._rendered[key] = render_to_string(template, context)
        return self._rendered[key]

    def chip(self, instance, field: str) -> SafeString:
        """``partials/chip.html`` for a choice field's value, labelled with its display
        (looked up once per value: a lazy translation resolved each time costs too)."""
        value = getattr(instance, field)
        key = ("chip", type(instance), field, value)
        if key not in self._rendered:
            label = getattr(instance, f"get_{field}_display")()
            self._rendered[key] = self("partials/chip.html", state=value, label=label)
        return self._rendered[key]


class Moment(NamedTuple):
    """A datetime as a ``<time>`` element shows it: ``iso`` is what ``|date:'c'`` gives
    and ``minute`` what ``|date:'Y-m-d H:i'`` gives, in the current time zone; ``value``
    is for ``|humantime``. Formatted here because the ``date`` filter, through Django's
    localised formats, costs some 100 µs a call on a small server, and the portfolio
    calls it three times a row."""

    value: datetime
    iso: str
    minute: str

    @classmethod
    def of(cls, value: datetime | None) -> Moment | None:
        if value is None:
            return None
        local = timezone.localtime(value)
        return cls(value, local.isoformat(), f"{local:%Y-%m-%d %H:%M}")


@dataclass
class PortfolioRow:
    component: Component
    departments: list[tuple[str, str, str]] = field(default_factory=list)  # slug, name, chip
    blocking: dict[str, int] = field(default_factory=dict)
    #: The latest release's waived gates (the chips the page shows).
    waived: list[dict] = field(default_factory=list)
    release: Release | None = None
    scan: ScanRun | None = None
    #: The newest sync; None without an external repository or before the first sync.
    sync: SyncState | None = None
    #: Alerts on the external repository not triaged yet (releases.watch).
    open_alerts: int = 0
    #: Shared by the rows of a page (the HTML page's chips; the API reads none of them).
    fragments: Fragments = field(default_factory=Fragments, repr=False, compare=False)

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

    @cached_property
    def scan_finished(self) -> Moment | None:
        return Moment.of(self.scan.finished_at) if self.scan else None

    @cached_property
    def sync_checked(self) -> Moment | None:
        return Moment.of(self.sync.checked_at) if self.sync else None

    # The chips of the portfolio page (see ``Fragments``).

    @property
    def stage_chip(self) -> SafeString:
        return self.fragments.chip(self.component, "stage")

    @property
    def department_chips(self) -> list[SafeString]:
        return [
            self.fragments(
                "releases/partials/department_chip.html", slug=slug, name=name, chip=chip
            )
            for slug, name, chip in self.departments
        ]

    @property
    def blocking_chips(self) -> list[SafeString]:
        return [
            self.fragments("releases/partials/blocking_chip.html", kind=kind, n=n)
            for kind, n in self.blocking.items()
        ]

    @property
    def release_chip(self) -> SafeString:
        return self.fragments.chip(self.release, "state")

    @property
    def sync_chip(self) -> SafeString:
        return self.fragments.chip(self.sync, "status")

    @property
    def alerts_chip(self) -> SafeString:
        return self.fragments("releases/partials/alerts_chip.html", n=self.open_alerts)


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


def _newest_only(queryset: QuerySet) -> QuerySet:
    """The rows of ``queryset`` with no newer one (created later, or at the same time with
    a higher id) for the same component: each component's latest, as the ``_latest_*``
    subqueries order them, for every component at once."""
    newer = queryset.filter(component=OuterRef("component")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    return queryset.exclude(Exists(newer))


def latest_submissions(user) -> QuerySet[Submission]:
    """The latest submission (not withdrawn) of each component ``user`` may see."""
    live = Submission.objects.exclude(state=SubmissionState.WITHDRAWN)
    return within_visible(_newest_only(live), user)


def latest_releases(user) -> QuerySet[Release]:
    """The latest release (not cancelled) of each component ``user`` may see."""
    live = Release.objects.exclude(state=ReleaseState.CANCELLED)
    return within_visible(_newest_only(live), user)


def portfolio_queryset(user, filters: PortfolioFilters) -> QuerySet[Component]:
    """The visible components, filtered and sorted. Give one page of them to
    ``portfolio_rows``."""
    qs = visible_components(user)
    if filters.stage:
        qs = qs.filter(stage=filters.stage)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(slug__icontains=filters.q))
    if filters.owner:
        qs = qs.filter(owners__username=filters.owner)
    # Over every component: each one's latest release or submission by the anti-join.
    if filters.blocked:
        qs = qs.filter(
            pk__in=latest_releases(user).filter(state=ReleaseState.BLOCKED).values("component_id")
        )
    if filters.waiting_on:
        qs = qs.filter(
            pk__in=ReviewTicket.objects.filter(
                submission__in=latest_submissions(user),
                submission__state__in=DECIDABLE_SUBMISSION_STATES,
                department__slug=filters.waiting_on,
                state__in=PENDING_TICKET_STATES,
            ).values("submission__component_id")
        )
    return qs.order_by(*SORTS[filters.sort])


def _annotate_latest(components: list[Component]) -> None:
    """Set ``latest_submission_id``, ``latest_scan_id``, ``latest_release_id`` and
    ``latest_sync_id`` on the components of a page: one query.

    Looked up for the page's components, and not annotated on the portfolio's queryset:
    PostgreSQL computes a query's output columns for the rows an OFFSET skips too, so the
    last page of 10,000 components ran each subquery 10,000 times (180 ms in the database
    alone) to show fifty rows. Nor as subqueries of the queries below: PostgreSQL then
    hashed whole tables to meet fifty ids, where given the ids it looks them up."""
    latest = {
        pk: ids
        for pk, *ids in Component.objects.filter(pk__in=[c.pk for c in components])
        .annotate(
            latest_submission_id=Subquery(_latest_submission()),
            latest_scan_id=Subquery(_latest_scan()),
            latest_release_id=Subquery(_latest_release()),
            latest_sync_id=Subquery(_latest_sync()),
        )
        .values_list(
            "pk", "latest_submission_id", "latest_scan_id", "latest_release_id", "latest_sync_id"
        )
    }
    for c in components:
        (
            c.latest_submission_id,
            c.latest_scan_id,
            c.latest_release_id,
            c.latest_sync_id,
        ) = latest.get(c.pk, (None, None, None, None))


def portfolio_rows(components: list[Component]) -> list[PortfolioRow]:
    """Rows for one page of ``portfolio_queryset``: a fixed number of queries, each loading
    only the columns the page shows."""
    _annotate_latest(components)
    submission_ids = [c.latest_submission_id for c in components if c.latest_submission_id]
    scan_ids = [c.latest_scan_id for c in components if c.latest_scan_id]
    release_ids = [c.latest_release_id for c in components if c.latest_release_id]
    sync_ids = [
        c.latest_sync_id for c in components if c.latest_sync_id and c.external_repository_id
    ]

    departments = Department.objects.in_bulk()
    # (id, department_id, state) per submission: plain rows, the page needs no more.
    tickets: dict[int, list[tuple[int, int, str]]] = {}
    for pk, submission_id, department_id, state in ReviewTicket.objects.filter(
        submission_id__in=submission_ids
    ).values_list("id", "submission_id", "department_id", "state"):
        tickets.setdefault(submission_id, []).append((pk, department_id, state))
    # By the ids of those tickets, which PostgreSQL looks up in the ticket index. Through
    # a join, or an EXISTS per ticket, it expects hardly any stale sign-off and reads all
    # of them instead (27,000 at 10,000 components; there is no index on the status).
    stale_tickets = set(
        SignOff.objects.filter(
            ticket_id__in=[t[0] for found in tickets.values() for t in found],
            status=SignOffStatus.STALE,
        ).values_list("ticket_id", flat=True)
    )
    scans = ScanRun.objects.only("id", "status", "finished_at").in_bulk(scan_ids)
    blocking: dict[int, dict[str, int]] = {}
    for scan_id, kind, n in (
        Finding.objects.filter(UNSETTLED, scan_id__in=scan_ids, severity=Severity.BLOCKING)
        .values_list("scan_id", "kind")
        .annotate(n=Count("id"))
        .values_list("scan_id", "kind", "n")
    ):
        blocking.setdefault(scan_id, {})[kind] = n
    releases = Release.objects.only("id", "component_id", "version", "state", "gates").in_bulk(
        release_ids
    )
    # Only what the chip needs: the lists of commits a sync keeps can be long.
    syncs = SyncState.objects.only("id", "status", "checked_at").in_bulk(sync_ids)
    # Open external alerts per component of the page: one grouped count.
    alerts = dict(
        ExternalAlert.objects.filter(
            component_id__in=[c.pk for c in components], state=ExternalAlert.State.OPEN
        )
        .order_by()
        .values_list("component_id")
        .annotate(n=Count("id"))
        .values_list("component_id", "n")
    )

    rows = []
    fragments = Fragments()
    for component in components:
        row = PortfolioRow(component=component, fragments=fragments)
        for pk, department_id, state in sorted(
            tickets.get(component.latest_submission_id, ()),
            key=lambda t: (departments[t[1]].position, departments[t[1]].name),
        ):
            department = departments[department_id]
            chip = DEPARTMENT_CHIPS.get(state, state)
            if chip == "pending" and pk in stale_tickets:
                chip = "stale"
            row.departments.append((department.slug, department.name, chip))
        row.scan = scans.get(component.latest_scan_id)
        row.blocking = blocking.get(component.latest_scan_id, {})
        row.release = releases.get(component.latest_release_id)
        if row.release is not None:
            row.waived = [g for g in row.release.gates if g.get("status") == GateStatus.WAIVED]
        row.sync = syncs.get(component.latest_sync_id)
        row.open_alerts = alerts.get(component.pk, 0)
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
    open_alerts: int = 0


def portfolio_counters(user) -> Counters:
    """The numbers on top of the portfolio, over every visible component: five queries."""
    visible = visible_components(user)
    by_stage = dict(
        visible.order_by().values_list("stage").annotate(n=Count("id")).values_list("stage", "n")
    )
    releases = dict(
        latest_releases(user)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    # UNSETTLED, over the tallies of each component's latest finished scan.
    findings = within_visible(
        FindingTally.objects.filter(
            Q(state=TriageState.OPEN) | Q(confirmed=False),
            latest=True,
            severity=Severity.BLOCKING,
        ),
        user,
    ).aggregate(n=Sum("n", default=0))["n"]
    pending = ReviewTicket.objects.filter(
        submission__in=latest_submissions(user),
        submission__state__in=DECIDABLE_SUBMISSION_STATES,
        state__in=PENDING_TICKET_STATES,
    ).count()
    alerts = within_visible(
        ExternalAlert.objects.filter(state=ExternalAlert.State.OPEN), user
    ).count()
    return Counters(
        components=sum(by_stage.values()),
        by_stage=by_stage,
        releases_blocked=releases.get(ReleaseState.BLOCKED, 0),
        releases_ready=releases.get(ReleaseState.READY, 0),
        open_blocking_findings=findings,
        pending_tickets=pending,
        open_alerts=alerts,
    )


def filter_choices() -> dict:
    """Departments and owners for the filter form: two queries."""
    User = get_user_model()
    # Owners as a semi-join: a DISTINCT over the join would read every component's owners.
    owns = Component.owners.through.objects.filter(user_id=OuterRef("pk"))
    return {
        "departments": list(Department.objects.filter(is_active=True).values_list("slug", "name")),
        "owners": list(
            User.objects.filter(Exists(owns))
            .order_by("username")
            .values_list("username", flat=True)
        ),
        "stages": Stage.choices,
        "sorts": [("name", "Name"), ("-updated", "Recently changed"), ("stage", "Stage")],
    }
