"""Reads for the department pages and the charts page.

Every function costs a fixed number of queries whatever the amount of data: counts,
medians and weekly series are computed by the database (conditional ``Count``, window
functions, ``TruncWeek``), and Python only touches the rows of one page or one figure
per week, kind or department.

"Open" tickets are the ones the department still has to see through: waiting on it
(``PENDING_TICKET_STATES``) or sent back with changes requested, on a submission that is
still under review. Only the ones waiting on the department count against its SLA: a
ticket with changes requested waits on the submitter (the reminders skip it too).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce, Lead, RowNumber, TruncWeek
from django.utils import timezone

from governance.models import Component, Department
from governance.selectors import within_visible
from releases.charts import format_value
from releases.dashboard import Fragments, Moment
from releases.enums import SyncStatus
from releases.models import FindingTally, Release, SyncState
from reviews.enums import (
    DECIDABLE_SUBMISSION_STATES,
    PENDING_TICKET_STATES,
    Decision,
    SignOffStatus,
    TicketState,
)
from reviews.models import ReviewTicket, SignOff, Submission
from scans.enums import FindingKind, TriageState

OPEN_TICKET_STATES = [*PENDING_TICKET_STATES, TicketState.CHANGES_REQUESTED]
DECIDED_TICKET_STATES = [TicketState.APPROVED, TicketState.CHANGES_REQUESTED, TicketState.REJECTED]
WEEKS = 12


def _scoped(queryset: QuerySet, user, field: str = "component") -> QuerySet:
    """``queryset`` over the components ``user`` may see; ``user`` None: over every
    component (the portfolio-wide charts summary, ``releases.summaries``)."""
    return queryset if user is None else within_visible(queryset, user, field)


def open_tickets() -> QuerySet[ReviewTicket]:
    return ReviewTicket.objects.filter(
        state__in=OPEN_TICKET_STATES, submission__state__in=DECIDABLE_SUBMISSION_STATES
    )


def overdue_cutoff(department: Department, now: datetime) -> datetime:
    """Created at or before this, a ticket is overdue: its age in whole days (as the review
    queue counts it) is past the SLA."""
    return now - timedelta(days=department.sla_days + 1)


def _overdue_q(departments, now) -> Q:
    """Waiting on its department for longer than that department's SLA."""
    per_department = [
        Q(department_id=d.pk, created_at__lte=overdue_cutoff(d, now)) for d in departments
    ]
    return Q(state__in=PENDING_TICKET_STATES) & reduce(operator.or_, per_department)


# --- The index -------------------------------------------------------------------------


@dataclass
class DepartmentSummary:
    department: Department
    can_view: bool
    open: int = 0
    overdue: int = 0


def department_index(user, *, now: datetime) -> list[DepartmentSummary]:
    """The active departments with their open and overdue counts: two queries."""
    departments = Department.objects.filter(is_active=True).order_by("position", "name")
    if user.is_superuser:
        departments = departments.annotate(can_view=Value(True, output_field=BooleanField()))
    else:
        Membership = get_user_model().groups.through
        departments = departments.annotate(
            can_view=Exists(
                Membership.objects.filter(group_id=OuterRef("reviewer_group_id"), user_id=user.pk)
            )
        )
    rows = [DepartmentSummary(department=d, can_view=d.can_view) for d in departments]
    if not rows:
        return rows
    counts = (
        open_tickets()
        .filter(department_id__in=[r.department.pk for r in rows])
        .order_by()
        .values("department_id")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=_overdue_q([r.department for r in rows], now)),
        )
    )
    by_department = {c["department_id"]: c for c in counts}
    for row in rows:
        found = by_department.get(row.department.pk, {})
        row.open = found.get("open", 0)
        row.overdue = found.get("overdue", 0)
    return rows


# --- One department --------------------------------------------------------------------


def department_for(user, slug: str) -> Department:
    """The department, if ``user`` reviews for it or is an admin; else DoesNotExist."""
    departments = Department.objects.select_related("reviewer_group")
    if not user.is_superuser:
        departments = departments.filter(reviewer_group__user=user)
    return departments.get(slug=slug)


@dataclass(frozen=True)
class DepartmentCounters:
    open: int
    waiting: int  # open and waiting on the department (not on the submitter)
    overdue: int
    approved_30d: int
    decided_90d: int
    median_days_90d: float | None

    @property
    def median_days_display(self) -> str:
        """Same-day decisions read 0.04, not 0.0 (the charts' formatting)."""
        return "—" if self.median_days_90d is None else format_value(self.median_days_90d)


def department_counters(department: Department, *, now: datetime) -> DepartmentCounters:
    """The numbers on top of a department's page: two queries."""
    tickets = ReviewTicket.objects.filter(department=department)
    under_review = Q(
        state__in=OPEN_TICKET_STATES, submission__state__in=DECIDABLE_SUBMISSION_STATES
    )
    counts = tickets.aggregate(
        open=Count("id", filter=under_review),
        waiting=Count("id", filter=under_review & Q(state__in=PENDING_TICKET_STATES)),
        overdue=Count("id", filter=under_review & _overdue_q([department], now)),
        approved_30d=Count(
            "id", filter=Q(state=TicketState.APPROVED, decided_at__gte=now - timedelta(days=30))
        ),
    )
    medians = median_days_to_decision(
        tickets.filter(state__in=DECIDED_TICKET_STATES, decided_at__gte=now - timedelta(days=90))
    )
    median, decided = medians.get(department.pk, (None, 0))
    return DepartmentCounters(**counts, decided_90d=decided, median_days_90d=median)


def department_tickets(department: Department, *, now: datetime) -> QuerySet[ReviewTicket]:
    """The department's open tickets, overdue first, then oldest first, with their
    current approvals counted. Give the rows of a page to ``with_age``.

    The approvals are a subquery, not a join and GROUP BY: the database counts them for
    the rows of the page only, and counting the pages needs no grouping either."""
    approvals = (
        SignOff.objects.filter(
            ticket=OuterRef("pk"), status=SignOffStatus.CURRENT, decision=Decision.APPROVE
        )
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        open_tickets()
        .filter(department=department)
        # The page's components and submitters come after, for its rows only: joined here
        # they would be joined for every open ticket before the sort picks fifty.
        .select_related("submission")
        .prefetch_related(
            Prefetch("submission__component", Component.objects.only("id", "name")),
            "submission__submitted_by",
        )
        .annotate(
            overdue=Case(
                When(_overdue_q([department], now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            approvals=Coalesce(Subquery(approvals), 0),
        )
        .order_by("-overdue", "created_at", "pk")
    )


def with_age(tickets, *, now: datetime) -> list[ReviewTicket]:
    """Set ``age_days`` (whole days, as the review queue counts them),
    ``waiting_on_department``, ``created`` (formatted for a ``<time>``) and ``state_chip``
    (rendered once per state for the page) on the tickets of one page: see
    ``releases.dashboard.Moment`` and ``Fragments`` for why."""
    tickets = list(tickets)
    fragments = Fragments()
    for ticket in tickets:
        ticket.age_days = (now - ticket.created_at).days
        ticket.waiting_on_department = ticket.state in PENDING_TICKET_STATES
        ticket.created = Moment.of(ticket.created_at)
        ticket.state_chip = fragments.chip(ticket, "state")
    return tickets


@dataclass
class ReviewerLoad:
    username: str
    full_name: str
    decisions_30d: int
    awaiting: int  # open tickets waiting on the department that they have not decided
    last_decision: datetime | None


def department_workload(
    department: Department, *, waiting: int, now: datetime
) -> list[ReviewerLoad]:
    """Per member of the reviewer group: current decisions in the last 30 days, how many of
    the ``waiting`` tickets (``DepartmentCounters.waiting``) still lack their decision,
    and their last decision on this department's tickets. Two queries (one without
    members): the members, then their sign-offs on the department's tickets, counted per
    reviewer.

    The members' ids go in as values. Joined to the group instead (in one query, or in
    the second), PostgreSQL expected a few hundred sign-offs and fetched each one's
    ticket and submission by index, one at a time: 36 ms at 10,000 components for a
    reviewer with 6,700 sign-offs. Given the ids, it knows how many sign-offs they have
    and meets them with the department's tickets in hash joins, in about half the time."""
    members = list(
        get_user_model()
        .objects.filter(groups=department.reviewer_group_id, is_active=True)
        .order_by("username")
    )
    if not members:
        return []
    current = Q(status=SignOffStatus.CURRENT)
    decisions = (
        SignOff.objects.filter(
            ticket__department=department, reviewer_id__in=[m.pk for m in members]
        )
        .order_by()
        .values("reviewer_id")
        .annotate(
            decisions_30d=Count("pk", filter=current & Q(created_at__gte=now - timedelta(days=30))),
            # One current sign-off per reviewer and ticket (a constraint), so this counts
            # the waiting tickets they have decided.
            decided_waiting=Count(
                "pk",
                filter=current
                & Q(
                    ticket__state__in=PENDING_TICKET_STATES,
                    ticket__submission__state__in=DECIDABLE_SUBMISSION_STATES,
                ),
            ),
            last_decision=Max("created_at"),
        )
    )
    by_reviewer = {d["reviewer_id"]: d for d in decisions}
    rows = []
    for m in members:
        found = by_reviewer.get(m.pk, {})
        rows.append(
            ReviewerLoad(
                username=m.username,
                full_name=m.get_full_name(),
                decisions_30d=found.get("decisions_30d", 0),
                awaiting=max(waiting - found.get("decided_waiting", 0), 0),
                last_decision=found.get("last_decision"),
            )
        )
    return rows


def median_days_to_decision(tickets: QuerySet[ReviewTicket]) -> dict[int, tuple[float, int]]:
    """Per department of ``tickets`` (all decided): the median of decided_at − created_at in
    days, and how many tickets that is over. One query: the database numbers each
    department's tickets by duration (window functions) and returns only the middle one
    or two; no row-by-row reading of the history."""
    partition = [F("department_id")]
    middle = (
        tickets.annotate(
            duration=ExpressionWrapper(
                F("decided_at") - F("created_at"), output_field=DurationField()
            )
        )
        .annotate(
            position=Window(
                RowNumber(), partition_by=partition, order_by=[F("duration").asc(), F("pk").asc()]
            ),
            total=Window(Count("pk"), partition_by=partition),
        )
        # Odd totals: 2·position − total = 1 picks the middle one; even: 0 and 2, the two
        # middle ones.
        .annotate(offset=F("position") * 2 - F("total"))
        .filter(offset__in=[0, 1, 2])
        .order_by()
        .values_list("department_id", "duration", "total")
    )
    found: dict[int, list] = {}
    for department_id, duration, total in middle:
        found.setdefault(department_id, [[], total])[0].append(duration.total_seconds())
    return {
        department_id: (sum(seconds) / len(seconds) / 86400, total)
        for department_id, (seconds, total) in found.items()
    }


# --- Charts ----------------------------------------------------------------------------


def week_starts(now: datetime) -> list[date]:
    """The Mondays of the last ``WEEKS`` weeks, this one included, in the current time zone
    (the one ``TruncWeek`` uses)."""
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _weekly_counts(queryset, weeks: list[date]) -> list[int]:
    """Rows of ``queryset`` per week (by created_at), in the database."""
    rows = (
        queryset.filter(created_at__gte=_start_of(weeks[0]))
        .annotate(week=TruncWeek("created_at"))
        .order_by()
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    by_week = {}
    for week, n in rows:
        day = timezone.localtime(week).date() if isinstance(week, datetime) else week
        by_week[day] = by_week.get(day, 0) + n
    return [by_week.get(w, 0) for w in weeks]


@dataclass
class WeeklyActivity:
    weeks: list[date]
    submissions: list[int]
    releases: list[int]


def weekly_activity(user, *, now: datetime) -> WeeklyActivity:
    """Submissions and releases created per week, for the components ``user`` may see:
    two queries."""
    weeks = week_starts(now)
    return WeeklyActivity(
        weeks=weeks,
        submissions=_weekly_counts(_scoped(Submission.objects.all(), user), weeks),
        releases=_weekly_counts(_scoped(Release.objects.all(), user), weeks),
    )


@dataclass
class DepartmentMedian:
    name: str
    median_days: float | None
    approvals: int


def approval_medians(user, *, now: datetime, days: int = 180) -> list[DepartmentMedian]:
    """Per department, the median days from submission (the ticket's creation) to approval
    over the tickets approved in the last ``days`` days, for the components ``user`` may
    see. Active departments, and any other with approvals in the period: two queries."""
    medians = median_days_to_decision(
        _scoped(
            ReviewTicket.objects.filter(
                state=TicketState.APPROVED, decided_at__gte=now - timedelta(days=days)
            ),
            user,
            "submission__component",
        )
    )
    departments = Department.objects.filter(Q(is_active=True) | Q(pk__in=list(medians)))
    return [
        DepartmentMedian(
            name=d.name,
            median_days=medians[d.pk][0] if d.pk in medians else None,
            approvals=medians[d.pk][1] if d.pk in medians else 0,
        )
        for d in departments.order_by("position", "name")
    ]


@dataclass
class FindingsOverTime:
    weeks: list[date]
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind label → per week


def open_findings_over_time(user, *, now: datetime) -> FindingsOverTime:
    """For each of the last ``WEEKS`` weeks: the open blocking and warning findings, by
    kind, in each visible component's latest finished scan as of the end of that week.

    "Open as of the week's end": open now, or triaged (or marked fixed) only after that
    week ended, since ``triaged_at`` records when a finding left the open state (later
    scans carry a triaged finding's state and date over). One query, over the finding
    tallies (a few rows per scan, not a million findings): a filtered sum per week, over
    the scans that stood as their component's latest at that week's end.
    """
    weeks = week_starts(now)
    ends = [_start_of(w + timedelta(weeks=1)) for w in weeks]

    def standing(end: datetime) -> Q:
        return Q(finished_at__lt=end) & (Q(superseded_at__isnull=True) | Q(superseded_at__gte=end))

    per_week = {
        f"w{i}": Sum(
            "n",
            default=0,
            filter=standing(end) & (Q(state=TriageState.OPEN) | Q(triaged_at__gte=end)),
        )
        for i, end in enumerate(ends)
    }
    rows = (
        _scoped(FindingTally.objects.filter(finished_at__lt=ends[-1]), user)
        .exclude(superseded_at__lt=ends[0])  # replaced before the first week ended
        .order_by()
        .values("kind")
        .annotate(**per_week)
    )
    result = FindingsOverTime(weeks=weeks)
    labels = dict(FindingKind.choices)
    for row in sorted(rows, key=lambda r: r["kind"]):
        counts = [row[f"w{i}"] for i in range(len(weeks))]
        if any(counts):
            result.by_kind[labels.get(row["kind"], row["kind"])] = counts
    return result


@dataclass
class SyncOverTime:
    weeks: list[date]
    by_status: dict[str, list[int]] = field(default_factory=dict)  # status label -> per week


def sync_status_over_time(user, *, now: datetime) -> SyncOverTime:
    """For each of the last ``WEEKS`` weeks: how many visible components stood in each sync
    status at the end of that week (their newest sync row before it; a row marks a change,
    so the newest one is the state then). One query: the database pairs each row with the
    component's next one (``Lead``), and a row counts for the weeks that end after it was
    written and no later than its successor.

    The outer sum is written out because the ORM cannot aggregate over a window function;
    the inner query, visibility included, is the ORM's.
    """
    weeks = week_starts(now)
    ends = [_start_of(w + timedelta(weeks=1)) for w in weeks]
    rows = (
        _scoped(SyncState.objects.filter(created_at__lt=ends[-1]), user)
        .annotate(
            until=Window(
                Lead("created_at"),
                partition_by=[F("component_id")],
                order_by=[F("created_at").asc(), F("id").asc()],
            )
        )
        .order_by()
        .values("status", "created_at", "until")
    )
    inner, inner_params = rows.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    sums = ", ".join(
        f"SUM(CASE WHEN s.created_at < %s AND (s.until IS NULL OR s.until >= %s) "
        f"THEN 1 ELSE 0 END) AS w{i}"
        for i in range(len(ends))
    )
    sql = (
        f"SELECT s.status, {sums} FROM ({inner}) s "  # noqa: S608 -- no user text in it
        f"WHERE s.until IS NULL OR s.until >= %s GROUP BY s.status"
    )
    params = [*(adapt(e) for end in ends for e in (end, end)), *inner_params, adapt(ends[0])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {status: [int(n) for n in counts] for status, *counts in cursor.fetchall()}
    result = SyncOverTime(weeks=weeks)
    for status, label in SyncStatus.choices:  # a fixed order, so colours stay put
        if any(found.get(status, ())):
            result.by_status[label] = found[status]
    return result


@dataclass
class ChartFigures:
    """Everything the charts page draws."""

    activity: WeeklyActivity
    medians: list[DepartmentMedian]
    findings: FindingsOverTime
    sync: SyncOverTime

    def as_json(self) -> dict:
        return {
            "weeks": [w.isoformat() for w in self.activity.weeks],
            "submissions": self.activity.submissions,
            "releases": self.activity.releases,
            "medians": [[m.name, m.median_days, m.approvals] for m in self.medians],
            # Pairs, not objects: jsonb does not keep the order of keys (the legend's).
            "findings": [[k, v] for k, v in self.findings.by_kind.items()],
            "sync": [[k, v] for k, v in self.sync.by_status.items()],
        }

    @classmethod
    def from_json(cls, data: dict) -> ChartFigures:
        weeks = [date.fromisoformat(w) for w in data["weeks"]]
        return cls(
            activity=WeeklyActivity(weeks, data["submissions"], data["releases"]),
            medians=[DepartmentMedian(*m) for m in data["medians"]],
            findings=FindingsOverTime(weeks, dict(data["findings"])),
            sync=SyncOverTime(weeks, dict(data["sync"])),
        )


def chart_figures(user, *, now: datetime) -> ChartFigures:
    """The four figures, computed now over the components ``user`` may see (None: every
    component): six queries. The charts page reads them through
    ``releases.summaries.chart_figures``, which keeps the portfolio-wide ones."""
    return ChartFigures(
        activity=weekly_activity(user, now=now),
        medians=approval_medians(user, now=now),
        findings=open_findings_over_time(user, now=now),
        sync=sync_status_over_time(user, now=now),
    )
