"""REST endpoints for components: reads through selectors, writes through services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from governance import selectors, services
from governance.serializers import ComponentCreateSerializer, ComponentSerializer


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
            .select_related("internal_repository")
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
