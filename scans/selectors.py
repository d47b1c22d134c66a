"""Reads for scan pages, the ticket page and the API."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from scans.enums import DEPARTMENT_KINDS, FINISHED_STATUSES, Severity, TriageState
from scans.models import Finding, ScanRun


def latest_scan(*, repository_id: int, commit: str, component_id: int | None) -> ScanRun | None:
    return (
        ScanRun.objects.filter(repository=repository_id, commit=commit, component=component_id)
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
    current = scan.findings.filter(severity=Severity.BLOCKING, state=TriageState.OPEN)
    before = previous_finished_scan(scan)
    if before is not None:
        current = current.exclude(
            fingerprint__in=before.findings.filter(severity=Severity.BLOCKING).values("fingerprint")
        )
    return set(current.values_list("kind", flat=True).distinct())


def findings_for_department(scan: ScanRun, department_slug: str) -> QuerySet[Finding]:
    kinds = DEPARTMENT_KINDS.get(department_slug, [])
    return scan.findings.filter(kind__in=kinds).select_related("triaged_by")


def finding_counts(scan: ScanRun) -> dict:
    return scan.findings.aggregate(
        total=Count("id"),
        blocking_open=Count("id", filter=Q(severity=Severity.BLOCKING, state=TriageState.OPEN)),
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
