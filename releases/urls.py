from django.urls import path

from releases import views
from releases.evidence import views as evidence

app_name = "releases"
urlpatterns = [
    path("components/<slug:slug>/releases/", views.component_releases, name="component-releases"),
    path("components/<slug:slug>/releases/new/", views.release_create, name="release-create"),
    path("components/<slug:slug>/sync/", views.component_sync_panel, name="component-sync"),
    path("components/<slug:slug>/backports/", views.backport_create, name="backport-create"),
    path("components/<slug:slug>/alerts/", views.component_alerts, name="component-alerts"),
    path("components/<slug:slug>/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/evaluate/", views.release_evaluate, name="release-evaluate"),
    path("releases/<int:pk>/cancel/", views.release_cancel, name="release-cancel"),
    path("releases/<int:pk>/publish/", views.release_publish, name="release-publish"),
    path("releases/<int:pk>/waivers/", views.waiver_create, name="waiver-create"),
    path("waivers/<int:pk>/revoke/", views.waiver_revoke, name="waiver-revoke"),
    path("releases/<int:pk>/evidence/", evidence.evidence, name="evidence"),
    path("releases/<int:pk>/evidence/build/", evidence.evidence_build, name="evidence-build"),
    path(
        "releases/<int:pk>/evidence/<int:bundle_pk>/download/",
        evidence.evidence_download,
        name="evidence-download",
    ),
    path("releases/<int:pk>/evidence/<slug:page>/", evidence.evidence, name="evidence-part"),
    path("about/", evidence.about, name="about"),
    path("releases.csv", evidence.releases_csv, name="releases-csv"),
    path("jobs/<int:pk>/", views.git_job, name="git-job"),
    path("departments/", views.department_list, name="departments"),
    path("departments/<slug:slug>/", views.department_detail, name="department"),
    path("charts/", views.charts_page, name="charts"),
]
