"""Reads for scan pages, the ticket page and the API."""

from __future__ import annotations

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from governance.models import Component
from governance.selectors import visible_components
from scans.enums import DEPARTMENT_KINDS, FINISHED_STATUSES, Severity, TriageState
from scans.models import Finding, ScanRun

#: Findings still standing: untriaged, or blocking and set aside by one person only (four
#: eyes: it counts once a second member of the owning department confirmed it).
UNSETTLED = Q(state=TriageState.OPEN) | Q(severity=Severity.BLOCKING, confirmed_at__isnull=True)
#: Order findings by this first to list the blocking ones first, then warnings, then the
#: rest (ordering by the stored value would put "warning" before "info" before "blocking").
SEVERITY_RANK = Case(
    When(severity=Severity.BLOCKING, then=Value(0)),
    When(severity=Severity.WARNING, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def _bound_elsewhere():
    """Scans of a repository another component now holds (the office reassigned it): what
    it holds is only that component's to read, its history included."""
    return Exists(
        Component.objects.filter(
            Q(internal_repository=OuterRef("repository_id"))
            | Q(external_repository=OuterRef("repository_id"))
        ).exclude(pk=OuterRef("component_id"))
    )


def visible_scans(user) -> QuerySet[ScanRun]:
    """Scans of the components ``user`` may see, of repositories no other component holds;
    the open-source office sees every scan."""
    if not user.is_authenticated:
        return ScanRun.objects.none()
    if user.is_superuser:
        return ScanRun.objects.all()
    return ScanRun.objects.filter(component__in=visible_components(user)).exclude(
        _bound_elsewhere()
    )


def latest_scan(*, repository_id: int, commit: str, component_id: int | None) -> ScanRun | None:
    return (
        ScanRun.objects.filter(repository=repository_id, commit=commit, component=component_id)
        .exclude(_bound_elsewhere())
        .order_by("-created_at")
        .first()
    )


def previous_finished_scan(scan: ScanRun) -> ScanRun | None:
    return (
        ScanRun.objects.filter(
            repository=scan.repository_id,
            component=scan.component_id,
            status__in=FINISHED_STATUSES,
            finished_at__lt=scan.finished_at or scan.created_at,
        )
        .exclude(pk=scan.pk)
        .order_by("-finished_at")
        .first()
    )


def new_blocking_kinds(scan: ScanRun) -> set[str]:
    """Kinds with an open blocking finding in ``scan`` that the scan before it lacked."""
    current = scan.findings.filter(UNSETTLED, severity=Severity.BLOCKING)
    before = previous_finished_scan(scan)
    if before is not None:
        current = current.exclude(
            fingerprint__in=before.findings.filter(severity=Severity.BLOCKING).values("fingerprint")
        )
    return set(current.values_list("kind", flat=True).distinct())


def findings_for_department(scan: ScanRun, department_slug: str) -> QuerySet[Finding]:
    kinds = DEPARTMENT_KINDS.get(department_slug, [])
    return scan.findings.filter(kind__in=kinds).select_related("triaged_by", "confirmed_by")


def finding_counts(scan: ScanRun) -> dict:
    return scan.findings.aggregate(
        total=Count("id"),
        blocking_open=Count("id", filter=UNSETTLED & Q(severity=Severity.BLOCKING)),
    )


def filter_findings(qs: QuerySet[Finding], params) -> QuerySet[Finding]:
    """Apply the findings table's filters: kind, severity, state, path (substring)."""
    for field in ("kind", "severity", "state"):
        value = params.get(field)
        if value:
            qs = qs.filter(**{field: value})
    path = (params.get("path") or "").strip()
    if path:
        qs = qs.filter(path__icontains=path[:200])
    return qs
