"""REST endpoints for components: reads through selectors, writes through services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api import IsAuthenticatedThrottled
from governance import repositories, rules, selectors, services
from governance.serializers import (
    ComponentCreateSerializer,
    ComponentRoleSerializer,
    ComponentRoleSetSerializer,
    ComponentSerializer,
    RepositoryChangeSerializer,
    RepositorySerializer,
)


class ComponentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Components the caller may see; registering one makes the caller its owner."""

    serializer_class = ComponentSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,80}"

    def get_queryset(self):
        return (
            selectors.visible_components(self.request.user)
            .select_related("internal_repository", "external_repository")
            .prefetch_related("owners")
            .order_by("name", "pk")
        )

    @extend_schema(
        request=ComponentCreateSerializer,
        responses={201: ComponentSerializer},
        summary="Register a component; the caller becomes its owner",
    )
    def create(self, request):
        serializer = ComponentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        component = services.component_create(
            actor=request.user, draft=services.ComponentDraft(**serializer.validated_data)
        )
        component = self.get_queryset().get(pk=component.pk)
        return Response(ComponentSerializer(component).data, status=status.HTTP_201_CREATED)

    def _roles_response(self, component) -> Response:
        roles = selectors.component_roles(component).select_related("added_by")
        return Response(ComponentRoleSerializer(roles, many=True).data)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses=ComponentRoleSerializer(many=True),
        summary="The component's community roles (PMC members, committers, contributors)",
    )
    @extend_schema(
        methods=["POST"],
        request=ComponentRoleSetSerializer,
        responses=ComponentRoleSerializer(many=True),
        summary="Give a person a role, or take it away; answers with the roles after it",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def roles(self, request, slug=None):
        """Whoever may see the component sees its roles; its PMC members and admins change
        them, one person at a time."""
        component = self.get_object()
        if request.method == "GET":
            return self._roles_response(component)
        # Refused before the body is read, as on the component page: someone who may not
        # manage the roles learns nothing, not even whether a username exists.
        if not rules.can_manage_roles(request.user, component):
            raise PermissionDenied("Only the component's PMC members and admins manage its roles.")
        serializer = ComponentRoleSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.component_role_set(
            component=component,
            user=serializer.validated_data["user"],
            role=serializer.validated_data["role"],
            actor=request.user,
        )
        return self._roles_response(component)


class IsOpenSourceOffice(permissions.BasePermission):
    message = "The repository registry is the open-source office's (admins)."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_superuser)


class RepositoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The repository registry: every repository and the component holding it. The
    open-source office (admins) only; reassigning and unbinding are audited."""

    serializer_class = RepositorySerializer
    permission_classes = [IsAuthenticatedThrottled, IsOpenSourceOffice]
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return repositories.registry_rows()

    @extend_schema(
        request=RepositoryChangeSerializer,
        responses=RepositorySerializer,
        summary="Reassign the repository to a component (component and role), or unbind it",
    )
    @action(detail=True, methods=["post"])
    def change(self, request, pk=None):
        repository = self.get_object()
        serializer = RepositoryChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("component") is None:
            repositories.repository_unbind(
                repository=repository, actor=request.user, reason=data["reason"]
            )
        else:
            repositories.repository_reassign(
                repository=repository, component=data["component"],
                role=data.get("role", "internal"), actor=request.user, reason=data["reason"],
            )  # fmt: skip
        return Response(RepositorySerializer(self.get_queryset().get(pk=repository.pk)).data)
