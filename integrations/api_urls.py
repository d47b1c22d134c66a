"""The integrations app's API routes, mounted under /api/ by config.api_urls."""

urlpatterns: list = []
