from django.db.models import Count, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from core.models import AuditEvent
from governance.models import Component


def visible_components(user) -> QuerySet[Component]:
    if not user.is_authenticated:
        return Component.objects.none()
    return get_objects_for_user(
        user, "governance.view_component", Component.objects.all(), accept_global_perms=True
    )


def sees_every_component(user) -> bool:
    """Whether ``visible_components(user)`` is every component: a superuser, or someone
    with the global view permission (guardian then filters nothing)."""
    return user.is_authenticated and (
        user.is_superuser or user.has_perm("governance.view_component")
    )


def within_visible(queryset: QuerySet, user, field: str = "component") -> QuerySet:
    """``queryset`` restricted to rows whose ``field`` is a component ``user`` may see.
    For someone who sees every component there is nothing to restrict: the filter would
    only cost a join over the whole portfolio (10,000 components on a big installation)."""
    if sees_every_component(user):
        return queryset
    return queryset.filter(**{f"{field}__in": visible_components(user)})


def submittable_components(user) -> QuerySet[Component]:
    """Components the user may submit: their own, or all for the open-source office."""
    if user.is_superuser:
        return Component.objects.order_by("name")
    return Component.objects.filter(owners=user).order_by("name")


def component_list(user) -> QuerySet[Component]:
    """Visible components with their number of submissions and of tickets still open.

    Both counts run over the same join (submissions × tickets), so they count distinct
    rows: otherwise every submission counted once per ticket. A ticket is open only while
    its submission is under review: a withdrawn or rejected submission's tickets are
    closed, whatever state they were left in. (States as their stored values: governance
    does not import reviews.)
    """
    return (
        visible_components(user)
        .prefetch_related("owners")
        .annotate(
            submission_count=Count("submissions", distinct=True),
            open_tickets=Count(
                "submissions__tickets",
                distinct=True,
                filter=Q(
                    submissions__tickets__state__in=["open", "in_review", "changes_requested"],
                    submissions__state__in=["in_review", "changes_requested"],
                ),
            ),
        )
        .order_by("name")
    )


def component_detail(user, slug: str) -> Component:
    return (
        visible_components(user)
        .select_related("internal_repository", "created_by")
        .prefetch_related("owners")
        .get(slug=slug)
    )


def component_submissions(component: Component):
    """The component's submissions, newest first, with their tickets' departments.

    Whoever may see a component may see that it was submitted and how each review
    stands; the submission pages themselves check their own permissions.
    """
    return (
        component.submissions.select_related("submitted_by")
        .prefetch_related("tickets__department")
        .order_by("-created_at")
    )


def component_timeline(component: Component) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(scope=component.audit_scope)
        .select_related("actor")
        .order_by("-seq")
    )


def component_roles(component: Component):
    return component.roles.select_related("user").order_by("-role", "user__username")
