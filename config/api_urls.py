"""The REST API, mounted under /api/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from governance.api import ComponentViewSet, RepositoryViewSet
from releases.api import ComponentSyncViewSet, DashboardView, ReleaseViewSet, WaiverViewSet
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

urlpatterns = [
    path("dashboard/", DashboardView.as_view(), name="api-dashboard"),
    *router.urls,
]
