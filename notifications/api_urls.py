"""The notifications app's API routes, mounted under /api/ by config.api_urls."""

from rest_framework.routers import SimpleRouter

from notifications.api import NotificationViewSet

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="api-notification")
urlpatterns = router.urls
