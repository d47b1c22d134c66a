"""The REST API, mounted under /api/ by config.urls."""

from django.urls import NoReverseMatch, include, path, reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from governance.api import ComponentViewSet, RepositoryViewSet
from releases.api import (
    ComponentSyncViewSet,
    DashboardView,
    GitJobViewSet,
    ReleaseViewSet,
    WaiverViewSet,
)
from reviews.api import ComponentScopeViewSet, SubmissionViewSet, TicketViewSet
from scans.api import FindingViewSet, ScanViewSet

router = SimpleRouter()
router.register("components", ComponentViewSet, basename="api-component")
# components/{slug}/sync/ and components/{slug}/backports/: releases' endpoints on a
# component, in their own viewset because governance knows nothing of releases.
router.register("components", ComponentSyncViewSet, basename="api-component-sync")
router.register("components", ComponentScopeViewSet, basename="api-component-scope")
router.register("repositories", RepositoryViewSet, basename="api-repository")
router.register("submissions", SubmissionViewSet, basename="api-submission")
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("scans", ScanViewSet, basename="api-scan")
router.register("findings", FindingViewSet, basename="api-finding")
router.register("releases", ReleaseViewSet, basename="api-release")
router.register("waivers", WaiverViewSet, basename="api-waiver")
router.register("jobs", GitJobViewSet, basename="api-git-job")


class ApiRootView(APIView):
    """The API's entry points: each collection, the portfolio, the schema and its docs."""

    @extend_schema(exclude=True)
    def get(self, request):
        links = {}
        for prefix, _viewset, basename in router.registry:
            try:
                links.setdefault(prefix, request.build_absolute_uri(reverse(f"{basename}-list")))
            except NoReverseMatch:
                continue  # a viewset with detail routes only (components/{slug}/sync/)
        links["notifications"] = request.build_absolute_uri(reverse("api-notification-list"))
        links["dashboard"] = request.build_absolute_uri(reverse("api-dashboard"))
        links["schema"] = request.build_absolute_uri(reverse("api-schema"))
        links["docs"] = request.build_absolute_uri(reverse("api-docs"))
        links["submission code"] = {
            "tree": "submissions/{id}/tree/",
            "diff": "submissions/{id}/diff/?from={sha}",
            "file": "submissions/{id}/file/?path={path}",
        }
        return Response(links)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar's static files (no CDN), its setup script
    served from this same URL (no inline script) and no inline style (the CSP)."""

    template_name = "api/swagger_ui.html"


urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("dashboard/", DashboardView.as_view(), name="api-dashboard"),
    *router.urls,
    path("", include("notifications.api_urls")),
    path("", include("integrations.api_urls")),
]
