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
