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
