from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from releases.views import portfolio
from reviews.views import home

urlpatterns = [
    path("", portfolio, name="home"),
    path("inbox/", home, name="inbox"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("core.urls")),
    path("", include("governance.urls")),
    path("", include("reviews.urls")),
    path("", include("scans.urls")),
    path("", include("releases.urls")),
    path("", include("notifications.urls")),
    path("", include("integrations.urls")),
    path("", include("community.urls")),
    path("api/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]
