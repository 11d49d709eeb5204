from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from skillquest import health

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include("challenges.api.urls")),
    path("", include("progress.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("", include("progress.urls")),
]

# Benchmark-only ceiling views (bench/ceilings.py), off unless BENCH_CEILINGS is set: see bench/README.md.
if settings.BENCH_CEILINGS:
    urlpatterns.append(path("bench/", include("bench.ceilings")))

handler400 = "skillquest.views.bad_request"
handler403 = "skillquest.views.permission_denied"
handler404 = "skillquest.views.page_not_found"
handler500 = "skillquest.views.server_error"
