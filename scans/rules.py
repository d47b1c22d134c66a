"""Who may triage a finding: the department that owns its kind, or the open-source office."""

from __future__ import annotations

from scans.enums import KIND_DEPARTMENT
from scans.models import Finding


def triage_denial(user, finding: Finding) -> str | None:
    if not user.is_authenticated:
        return "Sign in first."
    if user.is_superuser:
        return None
    department = KIND_DEPARTMENT.get(finding.kind)
    if department and user.groups.filter(department__slug=department).exists():
        return None
    return f"Only {department or 'the open-source office'} reviewers can triage this finding."


def triageable_kinds(user) -> frozenset[str]:
    """The finding kinds ``user`` may triage, in one query: what ``triage_denial`` allows.
    Pages use it to offer the triage form only where the service would accept it."""
    if not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(KIND_DEPARTMENT)
    slugs = set(
        user.groups.filter(department__isnull=False).values_list("department__slug", flat=True)
    )
    return frozenset(kind for kind, department in KIND_DEPARTMENT.items() if department in slugs)
