"""Who may do what with releases and waivers: plain predicates."""

from governance import rules as governance_rules
from governance.models import Component


def can_create_release(user, component: Component) -> bool:
    """Owners cut releases of their components; the open-source office of any."""
    return user.is_authenticated and (
        user.is_superuser or governance_rules.is_owner(user, component)
    )


def can_grant_waiver(user) -> bool:
    """Exceptions are the open-source office's (admins') to grant."""
    return user.is_authenticated and user.is_superuser


def can_sync(user, component: Component) -> bool:
    """Who runs a sync and back-ports: owners, PMC members and admins."""
    return can_create_release(user, component) or governance_rules.can_manage_roles(user, component)


def can_read_evidence(user, component: Component) -> bool:
    """Evidence holds the review itself (justification, comments, checklist notes) and
    every secret's whereabouts: it is for those who may see the component's submissions
    (its owners, the submitter, the reviewing departments, the office), not for everyone
    who sees the component (community roles do)."""
    from reviews.selectors import visible_submissions

    if not user.is_authenticated:
        return False
    return user.is_superuser or visible_submissions(user).filter(component=component).exists()


def alert_triage_denial(user, alert) -> str | None:
    """Why ``user`` may not triage an external alert, or None: the reviewers of the
    alert's department and the open-source office may, never someone with a stake in the
    component (its owners, registrar, submitter), as for a scan's findings."""
    if not user.is_authenticated:
        return "Sign in first."
    stake = governance_rules.has_stake(user, alert.component)
    if stake:
        return f"{stake}; someone without a stake in it triages its alerts."
    if user.is_superuser or user.groups.filter(pk=alert.department.reviewer_group_id).exists():
        return None
    return f"Only {alert.department} reviewers and the open-source office triage this alert."
