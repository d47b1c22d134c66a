"""REST endpoints for scans and findings: reads through the visibility rule of the
component, writes (triage) through the service."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from scans import services
from scans.models import Finding
from scans.selectors import visible_scans
from scans.serializers import (
    FindingFilterSerializer,
    FindingSerializer,
    ScanRunSerializer,
    TriageSerializer,
)

ID_REGEX = r"[0-9]{1,18}"


class ScanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scan runs of the components the caller may see, newest first."""

    serializer_class = ScanRunSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            visible_scans(self.request.user)
            .select_related("repository", "component")
            .order_by("-created_at", "-pk")
        )


class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Findings of the scans the caller may see; filter by scan, kind, severity, state, path."""

    serializer_class = FindingSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        queryset = Finding.objects.filter(scan__in=visible_scans(self.request.user)).select_related(
            "triaged_by", "confirmed_by"
        )
        if self.action == "list":
            filters = FindingFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            data = filters.validated_data
            for field in ("scan", "kind", "severity", "state"):
                if field in data:
                    queryset = queryset.filter(**{field: data[field]})
            if data.get("path"):
                queryset = queryset.filter(path__icontains=data["path"])
        return queryset.order_by("scan_id", "path", "line", "pk")

    @extend_schema(parameters=[FindingFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TriageSerializer,
        responses=FindingSerializer,
        summary="Triage a finding (owning department or the open-source office)",
    )
    @action(detail=True, methods=["post"])
    def triage(self, request, pk=None):
        serializer = TriageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = services.finding_triage(
            finding=self.get_object(), actor=request.user, **serializer.validated_data
        )
        return Response(FindingSerializer(finding).data)

    @extend_schema(
        request=None,
        responses=FindingSerializer,
        summary="Confirm a blocking finding's triage (a second reviewer of the department)",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        finding = services.finding_confirm(finding=self.get_object(), actor=request.user)
        return Response(FindingSerializer(finding).data)
