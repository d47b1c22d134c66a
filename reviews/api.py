"""REST endpoints for submissions, review tickets and sign-offs.

Reads go through ``reviews.selectors`` (so a row the caller may not see is a 404, the
same as one that does not exist); writes go through ``reviews.services``, whose
ValidationError and PermissionDenied become 400 and 403 via ``api_exception_handler``.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from reviews import rules, selectors, services
from reviews.models import SignOff
from reviews.serializers import (
    SignOffCreateSerializer,
    SignOffResultSerializer,
    SubmissionCreateSerializer,
    SubmissionRefreshSerializer,
    SubmissionResubmitSerializer,
    SubmissionSerializer,
    TicketFilterSerializer,
    TicketSerializer,
)
from scans.serializers import ScanRunSerializer
from scans.services import scan_request

# Ids in URLs: digits only, and short enough for a 64-bit column.
ID_REGEX = r"[0-9]{1,18}"


class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Submissions the caller may see, newest first."""

    serializer_class = SubmissionSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return selectors.submission_list(self.request.user).select_related("repository")

    def _reread(self, submission):
        return self.get_queryset().get(pk=submission.pk)

    @extend_schema(
        request=SubmissionCreateSerializer,
        responses={201: SubmissionSerializer},
        summary="Submit a component you own for review at the head of a branch",
    )
    def create(self, request):
        serializer = SubmissionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        result = services.submission_create(actor=request.user, **serializer.validated_data)
        submission = self._reread(result.submission)
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)

    def _refresh_response(self, result: services.RefreshResult) -> Response:
        submission = self._reread(result.submission)
        submission.refresh = result
        return Response(SubmissionRefreshSerializer(submission).data)

    @extend_schema(
        request=None,
        responses=SubmissionRefreshSerializer,
        summary="Re-resolve the branch; if it moved, re-pin the review to the new head",
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        result = services.submission_refresh(submission=self.get_object(), actor=request.user)
        return self._refresh_response(result)

    @extend_schema(
        request=SubmissionResubmitSerializer,
        responses=SubmissionRefreshSerializer,
        summary="Answer requested changes and send the submission back to review",
    )
    @action(detail=True, methods=["post"])
    def resubmit(self, request, pk=None):
        submission = self.get_object()
        serializer = SubmissionResubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.submission_resubmit(
            submission=submission,
            actor=request.user,
            response=serializer.validated_data["response"],
        )
        return self._refresh_response(result)

    @extend_schema(
        request=None,
        responses={202: ScanRunSerializer},
        summary="Scan the submission's commit now (a new run even if one exists)",
    )
    @action(detail=True, methods=["post"])
    def scan(self, request, pk=None):
        submission = self.get_object()
        denial = rules.refresh_denial(request.user, submission)
        if denial:
            raise PermissionDenied(denial)
        scan = scan_request(
            repository=submission.repository, commit=submission.commit,
            component=submission.component, actor=request.user, force=True,
        )  # fmt: skip
        return Response(ScanRunSerializer(scan).data, status=status.HTTP_202_ACCEPTED)


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Review tickets the caller may see, with their sign-offs (current, stale, superseded)."""

    serializer_class = TicketSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        return (
            selectors.ticket_list(self.request.user)
            .prefetch_related(
                Prefetch("signoffs", queryset=SignOff.objects.select_related("reviewer"))
            )
            .order_by("-submission_id", "department__position", "department__name", "pk")
        )

    @extend_schema(parameters=[TicketFilterSerializer])
    def list(self, request):
        filters = TicketFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "state" in filters.validated_data:
            queryset = queryset.filter(state=filters.validated_data["state"])
        if "department" in filters.validated_data:
            queryset = queryset.filter(department__slug=filters.validated_data["department"])
        page = self.paginate_queryset(queryset)
        if page is None:
            return Response(TicketSerializer(queryset, many=True).data)
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(
        request=SignOffCreateSerializer,
        responses={201: SignOffResultSerializer},
        summary="Approve, request changes or reject, on the commit you reviewed",
    )
    @action(detail=True, methods=["post"])
    def signoff(self, request, pk=None):
        ticket = self.get_object()
        serializer = SignOffCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        signoff = services.signoff_create(
            ticket=ticket,
            actor=request.user,
            decision=data["decision"],
            comment=data["comment"],
            answers=data["answers"],
            expected_commit=data["commit"] or None,
        )
        # The states the decision left behind, read back rather than trusted from memory.
        signoff.ticket = selectors.ticket_list(request.user).get(pk=ticket.pk)
        return Response(SignOffResultSerializer(signoff).data, status=status.HTTP_201_CREATED)
