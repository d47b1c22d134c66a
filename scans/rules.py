"""Who may triage a finding: the department that owns its kind, or the open-source office,
never someone with a stake in the component; and who confirms a blocking one (four eyes)."""

from __future__ import annotations

from governance.rules import has_stake
from scans.enums import KIND_DEPARTMENT
from scans.models import Finding


def _stake(user, finding: Finding) -> str | None:
    component = finding.scan.component
    reason = has_stake(user, component) if component is not None else None
    if reason:
        return f"{reason}; someone without a stake in it judges its findings."
    return None


def _in_department(user, finding: Finding) -> bool:
    department = KIND_DEPARTMENT.get(finding.kind)
    return bool(department) and user.groups.filter(department__slug=department).exists()


def triage_denial(user, finding: Finding) -> str | None:
    if not user.is_authenticated:
        return "Sign in first."
    stake = _stake(user, finding)
    if stake:
        return stake
    if user.is_superuser or _in_department(user, finding):
        return None
    department = KIND_DEPARTMENT.get(finding.kind)
    return f"Only {department or 'the open-source office'} reviewers can triage this finding."


def confirm_denial(user, finding: Finding) -> str | None:
    """Why ``user`` may not confirm ``finding``'s triage, or None."""
    if not user.is_authenticated:
        return "Sign in first."
    if not finding.awaits_confirmation:
        return "This finding awaits no confirmation."
    stake = _stake(user, finding)
    if stake:
        return stake
    if finding.triaged_by_id == user.pk:
        return "You triaged this finding; a second reviewer of the department confirms it."
    if not _in_department(user, finding):
        department = KIND_DEPARTMENT.get(finding.kind, "the owning department")
        return f"Only a second {department} reviewer can confirm this triage."
    return None


def triageable_kinds(user, component=None) -> frozenset[str]:
    """The finding kinds ``user`` may triage in ``component``'s scans: what
    ``triage_denial`` allows. Pages use it to offer the triage form (and the confirm
    button) only where the service would accept it."""
    if not user.is_authenticated:
        return frozenset()
    if component is not None and has_stake(user, component):
        return frozenset()
    if user.is_superuser:
        return frozenset(KIND_DEPARTMENT)
    slugs = set(
        user.groups.filter(department__isnull=False).values_list("department__slug", flat=True)
    )
    return frozenset(kind for kind, department in KIND_DEPARTMENT.items() if department in slugs)
