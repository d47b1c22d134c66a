"""The caller's notifications over the API: list (``?unread=true``), mark read."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from notifications import selectors, services
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    event = serializers.IntegerField(source="event.seq", read_only=True)
    action = serializers.CharField(source="event.action", read_only=True)
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "channel", "title", "body", "url", "created_at", "read",
                  "read_at", "event", "action"]  # fmt: skip
        read_only_fields = fields

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False)


COUNT = inline_serializer("Marked", fields={"marked": serializers.IntegerField()})


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's own notifications, newest first; anybody else's is a 404."""

    serializer_class = NotificationSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        unread = False
        if self.action == "list":
            filters = NotificationFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            unread = filters.validated_data.get("unread", False)
        return selectors.notifications_of(self.request.user, unread=unread).select_related("event")

    @extend_schema(
        parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="Unread only.")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=COUNT)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        marked = services.notification_mark_read(notification=self.get_object(), user=request.user)
        return Response({"marked": int(marked)})

    @extend_schema(request=None, responses=COUNT)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})
