"""Who may do what to a component: plain predicates of (user, component)."""

from governance.enums import CommunityRole
from governance.models import Component, ComponentRole


def is_owner(user, component: Component) -> bool:
    if not user.is_authenticated:
        return False
    # Use the prefetched owners when a page already loaded them.
    cache = getattr(component, "_prefetched_objects_cache", {})
    if "owners" in cache:
        return any(owner.pk == user.pk for owner in cache["owners"])
    return component.owners.filter(pk=user.pk).exists()


def has_stake(user, component: Component) -> str | None:
    """Why ``user`` may not judge ``component``'s own findings or exceptions: they own it,
    created it, or submitted it (through the submissions' reverse relation, so governance
    needs no import of reviews). None when they have no stake."""
    if not user.is_authenticated:
        return None
    if is_owner(user, component):
        return "You own this component"
    if component.created_by_id == user.pk:
        return "You registered this component"
    if component.submissions.filter(submitted_by=user).exists():
        return "You submitted this component"
    return None


def can_view_component(user, component: Component) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.has_perm("governance.view_component", component)
    )


def can_change_component(user, component: Component) -> bool:
    return user.is_authenticated and (
        user.is_superuser or user.has_perm("governance.change_component", component)
    )


def can_change_scope(user, component: Component) -> bool:
    """Who changes what the departments approve besides the commit (license, paths,
    mapping, destination): the owners and the open-source office."""
    return user.is_authenticated and (user.is_superuser or is_owner(user, component))


def can_submit_component(user, component: Component) -> bool:
    """Owners submit their components; the open-source office may submit any."""
    return user.is_authenticated and (user.is_superuser or is_owner(user, component))


def is_pmc(user, component: Component) -> bool:
    return (
        user.is_authenticated
        and ComponentRole.objects.filter(
            component=component, user=user, role=CommunityRole.PMC
        ).exists()
    )


def can_manage_roles(user, component: Component) -> bool:
    """The component's PMC members and the open-source office (admins)."""
    return user.is_authenticated and (user.is_superuser or is_pmc(user, component))
