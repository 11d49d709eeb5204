from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import LoginView, admin_login
from skillquest import health, metrics

# The browsable API's session login, under the same login limits as every other login.
api_auth = (
    [
        path("login/", LoginView.as_view(template_name="rest_framework/login.html"), name="login"),
        path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    ],
    "rest_framework",
)

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include("challenges.api.urls")),
    path("", include("progress.api.urls")),
    path("", include("skillquest.audit.api.urls")),
]

urlpatterns = [
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include(api_auth)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("challenges/", include("challenges.urls")),
    # Open Badges 2.0 hosted verification (progress.openbadges): public, outside the versioned API.
    path("ob/", include("progress.openbadges.urls")),
    path("", include("progress.urls")),
]

handler400 = "skillquest.views.bad_request"
handler403 = "skillquest.views.permission_denied"
handler404 = "skillquest.views.page_not_found"
handler500 = "skillquest.views.server_error"
