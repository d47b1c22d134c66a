from django.urls import path

from scans import views

app_name = "scans"
urlpatterns = [
    path("scans/<int:pk>/", views.scan_detail, name="scan"),
    path("scans/<int:pk>/progress/", views.scan_progress, name="scan-progress"),
    path("findings/<int:pk>/triage/", views.finding_triage, name="finding-triage"),
    path("findings/<int:pk>/confirm/", views.finding_confirm, name="finding-confirm"),
]
