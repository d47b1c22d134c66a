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
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

import vcs
from governance.rules import can_change_scope
from governance.selectors import visible_components
from reviews import code, rules, selectors, services
from reviews.models import SignOff
from reviews.serializers import (
    CodeFileSerializer,
    DiffQuerySerializer,
    DiffSerializer,
    FileQuerySerializer,
    ScopeChangeSerializer,
    ScopeSerializer,
    SignOffCreateSerializer,
    SignOffResultSerializer,
    SubmissionCreateSerializer,
    SubmissionRefreshSerializer,
    SubmissionResubmitSerializer,
    SubmissionSerializer,
    TicketFilterSerializer,
    TicketSerializer,
    TreeFileSerializer,
    TreeQuerySerializer,
)
from scans.serializers import ScanRunSerializer
from scans.services import scan_request

# Ids in URLs: digits only, and short enough for a 64-bit column.
ID_REGEX = r"[0-9]{1,18}"


class CodeUnavailable(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The commit is not in Gatehouse's copy of the repository yet."
    default_code = "code_unavailable"


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
            repository=services.bound_repository(submission), commit=submission.commit,
            component=submission.component, actor=request.user, force=True,
        )  # fmt: skip
        return Response(ScanRunSerializer(scan).data, status=status.HTTP_202_ACCEPTED)

    # ------------------------------------------------------------------ the code

    def _code_submission(self):
        submission = self.get_object()
        submission.component = (
            type(submission.component)
            .objects.select_related("internal_repository")
            .get(pk=submission.component_id)
        )
        return submission

    @extend_schema(
        parameters=[TreeQuerySerializer],
        responses=TreeFileSerializer(many=True),
        summary="The export plan of the commit under review: each file's fate and findings",
    )
    @action(detail=True, methods=["get"])
    def tree(self, request, pk=None):
        query = TreeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        submission = self._code_submission()
        try:
            preview = code.public_tree(
                submission, only_findings=query.validated_data.get("filter") == "findings",
                limit=10**9,
            )  # fmt: skip
        except code.CodeUnavailable as exc:
            raise CodeUnavailable(str(exc)) from exc
        files = [
            {**vars(row["file"].planned), "findings": row["file"].findings}
            for row in preview.rows
            if row["kind"] == "file"
        ]
        files.sort(key=lambda f: f["path"])
        page = self.paginate_queryset(files)
        return self.get_paginated_response(TreeFileSerializer(page, many=True).data)

    @extend_schema(
        parameters=[DiffQuerySerializer],
        responses=DiffSerializer,
        summary="What changed between two commits this submission was reviewed at",
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        submission = self._code_submission()
        try:
            view = code.diff_view(
                submission, query.validated_data["from"], query.validated_data.get("to")
            )
        except code.BadCommit as exc:
            raise ValidationError({"from": [str(exc)]}) from exc
        except code.CodeUnavailable as exc:
            raise CodeUnavailable(str(exc)) from exc
        return Response(DiffSerializer(view).data)

    @extend_schema(
        parameters=[FileQuerySerializer],
        responses=CodeFileSerializer,
        summary="One file at the commit under review, with its fate and findings",
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        query = FileQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        submission = self._code_submission()
        try:
            view = code.file_view(submission, query.validated_data["path"])
        except vcs.PathNotFound as exc:
            raise NotFound("No such file at the commit under review.") from exc
        except code.CodeUnavailable as exc:
            raise CodeUnavailable(str(exc)) from exc
        return Response(CodeFileSerializer(view).data)


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
                "department__questions",
                Prefetch("signoffs", queryset=SignOff.objects.select_related("reviewer")),
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


class ComponentScopeViewSet(viewsets.GenericViewSet):
    """``components/{slug}/scope/``: what the departments approve besides the commit (the
    license, the open and internal paths, the prefix mapping, the external repository and
    branch). Owners and admins change it; a change makes the current sign-offs stale and
    reopens the review. A component the caller may not see is a 404."""

    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,80}"
    serializer_class = ScopeSerializer
    pagination_class = None

    def get_queryset(self):
        return visible_components(self.request.user).select_related(
            "internal_repository", "external_repository"
        )

    @staticmethod
    def _body(component, stale=None) -> dict:
        body = {
            "component": component.slug,
            "scope": component.review_scope(),
            "scope_digest": component.scope_digest,
        }
        if stale is not None:
            body["stale_signoffs"] = stale
        return body

    @extend_schema(methods=["GET"], request=None, responses=ScopeSerializer,
                   summary="The component's review scope and its digest")  # fmt: skip
    @extend_schema(
        methods=["PATCH"],
        request=ScopeChangeSerializer,
        responses=ScopeSerializer,
        summary="Change the review scope (owners, admins); reopens the review",
    )
    @action(detail=True, methods=["get", "patch"], url_path="scope")
    def scope(self, request, slug=None):
        component = self.get_object()
        if request.method == "GET":
            return Response(ScopeSerializer(self._body(component)).data)
        if not can_change_scope(request.user, component):
            raise PermissionDenied(
                "Only the component's owners and admins change what it publishes and where."
            )
        serializer = ScopeChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stale = services.component_scope_update(
            component=component, actor=request.user, **serializer.changes()
        )
        component = self.get_queryset().get(pk=component.pk)
        return Response(ScopeSerializer(self._body(component, stale)).data)
