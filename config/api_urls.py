"""The REST API, mounted under /api/ by config.urls."""

from rest_framework.routers import SimpleRouter

from governance.api import ComponentViewSet
from reviews.api import SubmissionViewSet, TicketViewSet
from scans.api import FindingViewSet, ScanViewSet

router = SimpleRouter()
router.register("components", ComponentViewSet, basename="api-component")
router.register("submissions", SubmissionViewSet, basename="api-submission")
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("scans", ScanViewSet, basename="api-scan")
router.register("findings", FindingViewSet, basename="api-finding")

urlpatterns = router.urls
