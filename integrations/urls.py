from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("repositories/<int:pk>/hooks/", views.repository_hooks, name="repository-hooks"),
    path(
        "repositories/<int:pk>/hooks/rotate/", views.repository_hook_rotate,
        name="repository-hook-rotate",
    ),
]  # fmt: skip
