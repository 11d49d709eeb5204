"""The benchmarks' root URLconf: the whole site, plus the ceiling views (bench/ceilings.py) under /bench/.

Selected only by the bench harness, for the gunicorn it starts (ROOT_URLCONF=bench.urls in that
process's environment; bench/README.md). The site's own URLconf, skillquest/urls.py, never routes
the ceiling views.
"""

from __future__ import annotations

from django.urls import path

from bench import ceilings
from skillquest import urls as site

urlpatterns = [
    path("bench/json", ceilings.plain_json),
    path("bench/drf", ceilings.DrfView.as_view()),
    path("bench/pk-select", ceilings.pk_select),
    path("bench/pk-update", ceilings.pk_update),
    path("bench/redis-top10", ceilings.redis_top10),
    *site.urlpatterns,
]

# Django reads the error handlers from the root URLconf: the site's, unchanged.
handler400 = site.handler400
handler403 = site.handler403
handler404 = site.handler404
handler500 = site.handler500
