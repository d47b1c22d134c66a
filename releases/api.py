"""REST endpoints for releases, waivers and the portfolio dashboard.

Reads go through ``releases.selectors`` and ``releases.dashboard`` (a release or waiver
the caller may not see is a 404, the same as one that does not exist); writes go through
``releases.services``, whose ValidationError and PermissionDenied become 400 and 403 via
``core.api.api_exception_handler``.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

import vcs
from governance.selectors import visible_components
from releases import dashboard, jobs, rules, selectors, services
from releases.enums import ReleaseState
from releases.evidence.views import download_response
from releases.models import EvidenceBundle, GitJob, Release, SyncState, Waiver
from releases.serializers import (
    BackportCreateSerializer,
    DashboardFilterSerializer,
    DashboardSerializer,
    GitJobSerializer,
    ReleaseCancelSerializer,
    ReleaseCommitSerializer,
    ReleaseCreateSerializer,
    ReleaseFilterSerializer,
    ReleaseSerializer,
    SyncStateSerializer,
    WaiverCreateSerializer,
    WaiverFilterSerializer,
    WaiverSerializer,
)

# Ids in URLs: digits only, and short enough for a 64-bit column.
ID_REGEX = r"[0-9]{1,18}"


GIT_FAILED = OpenApiResponse(
    inline_serializer("GitFailed", fields={"detail": serializers.CharField()}),
    description="Git failed: a repository out of reach, or a push refused. Nothing recorded.",
)


class ReleaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Releases of the components the caller may see, newest first, with their gates."""

    serializer_class = ReleaseSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        queryset = (
            selectors.visible_releases(self.request.user)
            .select_related("component", "created_by")
            .prefetch_related(
                Prefetch("evidence", queryset=EvidenceBundle.objects.defer("archive"))
            )
        )
        if self.action == "list":
            filters = ReleaseFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            data = filters.validated_data
            if "component" in data:
                queryset = queryset.filter(component__slug=data["component"])
            if "state" in data:
                queryset = queryset.filter(state=data["state"])
        return queryset.order_by("-created_at", "-pk")

    def _response(self, release: Release, status_code=status.HTTP_200_OK) -> Response:
        # Read back: the evaluation wrote the state and gates in its own transaction.
        release = self.get_queryset().get(pk=release.pk)
        return Response(ReleaseSerializer(release).data, status=status_code)

    @extend_schema(parameters=[ReleaseFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ReleaseCreateSerializer,
        responses={201: ReleaseSerializer},
        summary="Create a release of a component you own; its gates are evaluated at once",
    )
    def create(self, request):
        serializer = ReleaseCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        release = services.release_create(actor=request.user, **serializer.validated_data)
        return self._response(release, status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=ReleaseSerializer,
        summary="Evaluate the release's gates again now",
    )
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        release = self.get_object()
        services.release_evaluate(release_id=release.pk, trigger="manual", actor=request.user)
        return self._response(release)

    @extend_schema(
        request=ReleaseCancelSerializer,
        responses=ReleaseSerializer,
        summary="Cancel an unpublished release, with a reason (owners and admins)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        release = self.get_object()
        serializer = ReleaseCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.release_cancel(
            release=release, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._response(release)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                GitJobSerializer,
                description="Queued (or already under way: the same job): poll the job's "
                "url, also in the Location header, for the outcome.",
            ),
            400: OpenApiResponse(description="Not ready, or no external repository."),
        },
        summary="Publish a ready release to the component's external repository "
        "(owners and admins), as a background job",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        job, _ = jobs.publish_request(release=self.get_object(), actor=request.user)
        return job_accepted(request, job)

    @extend_schema(
        methods=["GET"],
        parameters=[OpenApiParameter("preview", OpenApiTypes.BOOL, description="The preview.")],
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The bundle: a zip archive."
            ),
            404: OpenApiResponse(description="No such bundle (yet)."),
        },
        summary="Download the release's evidence bundle (the final one; ?preview=1 for the "
        "preview of a ready release)",
    )
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={202: GitJobSerializer, 400: OpenApiResponse(description="Not ready.")},
        summary="Build a preview of a ready release's bundle, or the missing final bundle of "
        "a published one (owners and admins), as a background job",
    )
    @action(detail=True, methods=["get", "post"], url_path="evidence", url_name="evidence")
    def evidence(self, request, pk=None):
        release = self.get_object()
        if request.method == "POST":
            preview = release.state != ReleaseState.PUBLISHED
            job, _ = jobs.evidence_request(release=release, actor=request.user, preview=preview)
            return job_accepted(request, job)
        if not rules.can_read_evidence(request.user, release.component):
            raise NotFound("Not found, or not yours to see.")
        flag = request.query_params.get("preview", "")
        if flag not in ("", "0", "1", "true", "false"):
            raise ValidationError({"preview": ["Give 1 or 0."]})
        preview = flag in ("1", "true")
        bundle = (
            EvidenceBundle.objects.filter(release=release, preview=preview)
            .select_related("release__component")
            .order_by("-built_at", "-id")
            .first()
        )
        if bundle is None:
            kind = "preview" if preview else "final evidence bundle"
            raise NotFound(f"This release has no {kind} (yet).")
        return download_response(bundle)


def job_accepted(request, job: GitJob) -> Response:
    """202 with the job, and its URL in Location: where the client polls."""
    body = GitJobSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class GitJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Publish, sync and back-port jobs of the components the caller may see, newest
    first; filter by ``component`` (slug), ``kind`` and ``status``."""

    serializer_class = GitJobSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        qs = GitJob.objects.filter(
            component__in=visible_components(self.request.user)
        ).select_related("component", "created_by", "release__component",
                         "release__created_by", "sync_state", "backport",
                         "evidence").defer("evidence__archive")  # fmt: skip
        params = self.request.query_params
        if params.get("component"):
            qs = qs.filter(component__slug=params["component"])
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs.order_by("-created_at", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("component", str, description="A component's slug."),
            OpenApiParameter("kind", str, enum=GitJob.Kind.values),
            OpenApiParameter("status", str, enum=GitJob.Status.values),
        ],
        summary="Publish, sync and back-port jobs, newest first",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One job: its status, step, errors and outcome")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)


def git_failed(exc: vcs.VcsError) -> Response:
    """A repository out of reach, or a push refused: the other side's fault, said plainly."""
    return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)


def visible_waivers(user) -> QuerySet[Waiver]:
    """Every waiver for the open-source office; others see those of the components they
    may see."""
    if user.is_superuser:
        return Waiver.objects.all()
    return Waiver.objects.filter(component__in=visible_components(user))


class WaiverViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Waivers (exceptions to a gate or a finding), newest first."""

    serializer_class = WaiverSerializer
    lookup_value_regex = ID_REGEX

    def get_queryset(self):
        queryset = visible_waivers(self.request.user).select_related(
            "component", "owner", "granted_by", "revoked_by"
        )
        if self.action == "list":
            filters = WaiverFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            data = filters.validated_data
            if "component" in data:
                queryset = queryset.filter(component__slug=data["component"])
            if "release" in data:
                queryset = queryset.filter(release_id=data["release"])
            active = Q(revoked_at=None, expires_at__gt=timezone.now())
            if data.get("active") is True:
                queryset = queryset.filter(active)
            elif data.get("active") is False:
                queryset = queryset.exclude(active)
        return queryset.order_by("-created_at", "-pk")

    @extend_schema(parameters=[WaiverFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=WaiverCreateSerializer,
        responses={201: WaiverSerializer},
        summary="Grant a waiver for a gate of a release or for a finding (admins)",
    )
    def create(self, request):
        # Refused before the body is read, as on the release page.
        if not rules.can_grant_waiver(request.user):
            raise PermissionDenied("Only the open-source office (admins) grants waivers.")
        serializer = WaiverCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        waiver = services.waiver_grant(actor=request.user, **serializer.validated_data)
        waiver = self.get_queryset().get(pk=waiver.pk)
        return Response(WaiverSerializer(waiver).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=WaiverSerializer,
        summary="Withdraw a waiver before it expires (admins)",
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        waiver = services.waiver_revoke(waiver=self.get_object(), actor=request.user)
        waiver = self.get_queryset().get(pk=waiver.pk)
        return Response(WaiverSerializer(waiver).data)


class DashboardView(generics.GenericAPIView):
    """The portfolio as JSON: one row per visible component, filtered, sorted and paged
    like the portfolio page, and the counters over every visible component. The same
    number of queries whatever the size of the portfolio."""

    serializer_class = DashboardSerializer

    def get_queryset(self):
        """The filtered portfolio (the browsable API's renderer asks for it too)."""
        params = DashboardFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = dashboard.PortfolioFilters.from_params(params.as_params())
        return dashboard.portfolio_queryset(self.request.user, filters)

    @extend_schema(
        parameters=[
            DashboardFilterSerializer,
            OpenApiParameter("limit", OpenApiTypes.INT, description="Rows per page."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Rows to skip."),
        ],
        responses=DashboardSerializer,
        summary="The portfolio: counters and one row per component",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        body = {
            "counters": dashboard.portfolio_counters(request.user),
            "count": self.paginator.count,
            "next": self.paginator.get_next_link(),
            "previous": self.paginator.get_previous_link(),
            "results": dashboard.portfolio_rows(list(page)),
        }
        return Response(DashboardSerializer(body).data)


SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Component.")


class ComponentSyncViewSet(viewsets.GenericViewSet):
    """A component's two sides: the newest sync, a sync now, back-ports. Routed under
    ``components/{slug}/`` beside governance's component endpoints, which know nothing of
    releases. A component the caller may not see is a 404."""

    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,80}"
    serializer_class = SyncStateSerializer
    pagination_class = None

    def get_queryset(self):
        return (
            visible_components(self.request.user)
            .select_related("internal_repository", "external_repository")
            .prefetch_related("owners")
        )

    def _component(self):
        component = self.get_object()
        if self.request.method == "POST" and not rules.can_sync(self.request.user, component):
            # Refused before the body is read.
            raise PermissionDenied(
                "Only the component's owners, PMC members and admins sync and back-port."
            )
        return component

    @staticmethod
    def _latest(component) -> SyncState:
        latest = SyncState.objects.filter(component=component).order_by("-created_at", "-id")
        # Before the first sync: the same shape, status and checked_at null.
        return latest.first() or SyncState(
            component=component, status=None, trigger="", checked_at=None
        )

    @extend_schema(
        methods=["GET"],
        parameters=[SLUG],
        request=None,
        responses=SyncStateSerializer,
        summary="The component's newest sync of its internal and external repositories",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[SLUG],
        request=None,
        responses={
            202: OpenApiResponse(
                GitJobSerializer,
                description="Queued (or a sync of the component already under way: that "
                "job): poll its url, also in the Location header.",
            ),
        },
        summary="Sync now: fetch both sides and record how they stand (owners, PMC, admins), "
        "as a background job",
    )
    @action(detail=True, methods=["get", "post"], url_path="sync")
    def sync(self, request, slug=None):
        component = self._component()
        if request.method == "GET":
            return Response(SyncStateSerializer(self._latest(component)).data)
        job, _ = jobs.sync_request(component=component, actor=request.user)
        return job_accepted(request, job)

    @extend_schema(
        parameters=[SLUG],
        request=BackportCreateSerializer,
        responses={
            202: OpenApiResponse(
                GitJobSerializer,
                description="Queued: poll the job's url (also in Location). When it "
                "succeeds, its backport holds the branch, or the conflicts file by file "
                "(then nothing was pushed).",
            ),
        },
        summary="Back-port a community commit (or a range) as a branch of the internal repository "
        "(owners, PMC, admins), as a background job",
    )
    @action(detail=True, methods=["post"])
    def backports(self, request, slug=None):
        component = self._component()
        serializer = BackportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job, _ = jobs.backport_request(
            component=component, actor=request.user,
            commit=serializer.validated_data["commit"],
            first=serializer.validated_data.get("first", ""),
        )  # fmt: skip
        return job_accepted(request, job)

    @extend_schema(
        parameters=[SLUG],
        request=None,
        responses=ReleaseCommitSerializer(many=True),
        summary="The commits a release of the component may be made of: the approved commit, "
        "the reviewed branch's head and recent tags on it",
    )
    @action(detail=True, methods=["get"], url_path="release-commits")
    def release_commits(self, request, slug=None):
        component = self._component()
        if not rules.can_create_release(request.user, component):
            # It fetches the internal repository: for those who make the releases.
            raise PermissionDenied("Only the component's owners and admins create its releases.")
        choices = services.release_commit_choices(component)
        return Response(ReleaseCommitSerializer(choices, many=True).data)
