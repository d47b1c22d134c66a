from django.urls import path

from governance import views

app_name = "governance"
urlpatterns = [
    path("components/", views.component_list, name="components"),
    path("components/<slug:slug>/", views.component_detail, name="component"),
    path("components/<slug:slug>/roles/", views.component_roles, name="component-roles"),
    path("repositories/", views.repository_list, name="repositories"),
    path("repositories/<int:pk>/", views.repository_change, name="repository-change"),
]
