"""The derived tables the dashboards read instead of the raw rows, and how they follow.

Finding tallies (``FindingTally``): a component's are a function of its finished scans
and of those scans' blocking and warning findings, so they are rewritten whole, per
component, right after a change commits: one of its scans finished (which also marks
findings of the scan before it fixed), or one of its findings was triaged or confirmed
(releases.apps connects scans' signals here, as it does for the gates).

Charts summary (``ChartSummary``): the figures over the whole portfolio. A change the
figures count (a submission or sign-off, a scan, a triage, a release) marks it stale
and queues one refresh ``REFRESH_DELAY`` later; the changes until it runs ride along
(debounced). It is also refreshed once older than ``MAX_AGE`` (syncs, and the medians'
sliding window, report nothing), and recomputed on the spot when missing or when a new
week has begun.

Both are rebuilt by ``manage.py rebuild_dashboard_summaries`` and by ``seed_scale``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from governance.models import Component
from governance.selectors import sees_every_component
from releases import departments
from releases.models import ChartSummary, FindingTally
from scans.enums import FINISHED_STATUSES, Severity
from scans.models import Finding, ScanRun

TALLIED_SEVERITIES = [Severity.BLOCKING, Severity.WARNING]
REFRESH_DELAY = 30  # seconds: changes in a burst cost one refresh
MAX_AGE = timedelta(minutes=10)

# --- Finding tallies -------------------------------------------------------------------


def tally_rows(*, component_ids: list[int], models=None) -> list:
    """The tallies of these components, unsaved: two queries. ``models`` (Finding,
    ScanRun, FindingTally) lets the migration that created the table pass its own."""
    Finding_, ScanRun_, FindingTally_ = models or (Finding, ScanRun, FindingTally)
    scans = list(
        ScanRun_.objects.filter(component_id__in=component_ids, status__in=FINISHED_STATUSES)
        .order_by("component_id", "created_at", "id")
        .values_list("pk", "component_id", "created_at", "finished_at")
    )
    by_component: dict[int, list] = {}
    for scan in scans:
        by_component.setdefault(scan[1], []).append(scan)
    # Per scan: its component, finished_at, the next finished scan's finished_at, and
    # whether it is the newest created (the portfolio's "latest finished scan").
    info: dict[int, tuple] = {}
    for component_id, rows in by_component.items():
        latest = rows[-1][0]
        timed = sorted((r for r in rows if r[3] is not None), key=lambda r: (r[3], r[0]))
        until = {a[0]: b[3] for a, b in zip(timed, timed[1:], strict=False)}
        for pk, _, _, finished_at in rows:
            info[pk] = (component_id, finished_at, until.get(pk), pk == latest)
    if not info:
        return []
    counts = (
        Finding_.objects.filter(
            scan__component_id__in=component_ids,
            scan__status__in=FINISHED_STATUSES,
            severity__in=TALLIED_SEVERITIES,
        )
        .annotate(
            confirmed=ExpressionWrapper(Q(confirmed_at__isnull=False), output_field=BooleanField())
        )
        .order_by()
        .values_list("scan_id", "kind", "severity", "state", "confirmed", "triaged_at")
        .annotate(n=Count("id"))
    )
    tallies = []
    for scan_id, kind, severity, state, confirmed, triaged_at, n in counts:
        component_id, finished_at, superseded_at, latest = info[scan_id]
        tallies.append(FindingTally_(
            component_id=component_id, scan_id=scan_id, finished_at=finished_at,
            superseded_at=superseded_at, latest=latest, kind=kind, severity=severity,
            state=state, confirmed=bool(confirmed), triaged_at=triaged_at, n=n,
        ))  # fmt: skip
    return tallies


def finding_tallies_refresh(*, component_ids: Iterable[int]) -> int:
    """Rewrite the tallies of these components from their scans and findings, in one
    transaction. Idempotent; queues nothing. Returns how many rows it wrote."""
    component_ids = list(component_ids)
    with transaction.atomic():
        FindingTally.objects.filter(component_id__in=component_ids).delete()
        return len(
            FindingTally.objects.bulk_create(
                tally_rows(component_ids=component_ids), batch_size=5000
            )
        )


def finding_tallies_changed(*, component_id=None, scan_id=None, **_) -> int:
    """A scan finished (``scan_id``) or a finding was triaged (``component_id``), and it
    committed: refresh that component's tallies."""
    if component_id is None and scan_id is not None:
        component_id = (
            ScanRun.objects.filter(pk=scan_id).values_list("component_id", flat=True).first()
        )
    if component_id is None:
        return 0
    return finding_tallies_refresh(component_ids=[component_id])


def finding_tallies_rebuild(
    *, chunk: int = 1000, progress: Callable[[int, int], None] | None = None
) -> int:
    """Every component's tallies, rewritten ``chunk`` components per transaction (the
    pages read the old rows of a chunk until it commits). Idempotent. Returns the rows."""
    ids = list(Component.objects.order_by("pk").values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), chunk):
        written += finding_tallies_refresh(component_ids=ids[start : start + chunk])
        if progress:
            progress(min(start + chunk, len(ids)), len(ids))
    return written


# --- Charts summary --------------------------------------------------------------------


def chart_figures(user, *, now: datetime) -> departments.ChartFigures:
    """The charts page's figures for ``user``. Someone who sees every component gets the
    portfolio-wide summary (one query; computed and stored first if missing or from an
    earlier week, refreshed in the background if old); anyone else gets them computed
    over the components they may see."""
    if not sees_every_component(user):
        return departments.chart_figures(user, now=now)
    summary = ChartSummary.objects.filter(pk=1).first()
    weeks = [w.isoformat() for w in departments.week_starts(now)]
    if summary is None or summary.figures.get("weeks") != weeks:
        return chart_summary_refresh(now=now)
    if summary.stale_since is None and now - summary.computed_at > MAX_AGE:
        _queue_refresh(stale_since=None)
    elif summary.stale_since is not None and now - summary.stale_since > MAX_AGE:
        _queue_refresh(stale_since=summary.stale_since)  # the queued refresh never ran
    return departments.ChartFigures.from_json(summary.figures)


def chart_summary_refresh(*, now: datetime | None = None) -> departments.ChartFigures:
    """Compute the portfolio-wide figures and store them. Clears the stale mark first, so
    that a change committed while it computes queues another refresh instead of being
    lost. Idempotent; queues nothing."""
    now = now or timezone.now()
    ChartSummary.objects.filter(pk=1).update(stale_since=None)
    figures = departments.chart_figures(None, now=now)
    data = figures.as_json()
    if not ChartSummary.objects.filter(pk=1).update(figures=data, computed_at=now):
        try:
            with transaction.atomic():
                ChartSummary.objects.create(pk=1, figures=data, computed_at=now)
        except IntegrityError:  # created meanwhile by another refresh: ours is as good
            ChartSummary.objects.filter(pk=1).update(figures=data, computed_at=now)
    return figures


def chart_summary_changed(**_) -> bool:
    """Something the charts count changed and committed: mark the summary stale and queue
    one refresh in ``REFRESH_DELAY`` seconds, unless one is queued already (then this
    change rides along). Nothing to do before the summary first exists. Returns whether
    it queued."""
    return _queue_refresh(stale_since=None)


def _queue_refresh(*, stale_since: datetime | None) -> bool:
    """Mark the summary stale as of now, if it still is as read (``stale_since``), and
    queue one refresh after commit: of concurrent callers, one queues."""
    from releases.tasks import refresh_chart_summary

    if not ChartSummary.objects.filter(pk=1, stale_since=stale_since).update(
        stale_since=timezone.now()
    ):
        return False
    transaction.on_commit(lambda: refresh_chart_summary.apply_async(countdown=REFRESH_DELAY))
    return True


def dashboard_summaries_rebuild(*, chunk: int = 1000, progress=None) -> int:
    """Every finding tally, then the charts summary: for after loading or editing rows by
    other means than the services. Returns the tally rows written."""
    written = finding_tallies_rebuild(chunk=chunk, progress=progress)
    chart_summary_refresh()
    return written
