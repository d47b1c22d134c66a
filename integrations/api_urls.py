"""The integrations app's API routes, mounted under /api/ by config.api_urls."""

from django.urls import path

from integrations import views

urlpatterns = [
    path("hooks/<slug:provider>/<str:hook>/", views.hook_receive, name="api-hook"),
]
