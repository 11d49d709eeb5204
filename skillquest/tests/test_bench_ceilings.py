"""The bench's ceiling views: routed only by bench/urls.py, which the harness selects by environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

from skillquest.tests.helpers import settings_in_a_fresh_process

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
CEILINGS = ["/bench/json", "/bench/drf", "/bench/pk-select", "/bench/pk-update", "/bench/redis-top10"]


@pytest.mark.parametrize("url", CEILINGS)
def test_the_site_does_not_route_the_ceiling_views(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.urls("bench.urls")
def test_the_bench_urlconf_routes_the_ceiling_views(client):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_counter (id integer PRIMARY KEY, n bigint NOT NULL)")
        cursor.execute("INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, 999) g")
    assert client.get("/bench/json").json() == {"ok": True}
    assert client.get("/bench/drf").json() == {"ok": True}
    assert client.get("/bench/pk-update").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(n) FROM bench_counter")
        assert cursor.fetchone()[0] == 1
    assert client.get("/bench/pk-select").status_code == 200
    assert client.get("/bench/redis-top10").json() == {"top": []}


@pytest.mark.urls("bench.urls")
def test_the_bench_urlconf_serves_the_whole_site_with_its_error_pages(api_client):
    assert api_client.get("/healthz").json() == {"status": "ok"}
    assert api_client.get("/api/v1/challenges").status_code == 200
    # The site's error handlers, not Django's defaults: JSON under /api/, the site's page elsewhere.
    assert api_client.get("/api/v1/no-such-thing").json()["code"] == "not_found"
    page = api_client.get("/no-such-page/")
    assert page.status_code == 404
    assert "404.html" in [template.name for template in page.templates]


def root_urlconf_in_a_fresh_process(env: dict[str, str]) -> str:
    return settings_in_a_fresh_process(env, "s.ROOT_URLCONF")


def test_the_urlconf_is_the_sites_unless_the_environment_names_another():
    env = {name: value for name, value in os.environ.items() if name != "ROOT_URLCONF"}
    assert root_urlconf_in_a_fresh_process(env) == "skillquest.urls"
    assert root_urlconf_in_a_fresh_process({**env, "ROOT_URLCONF": "bench.urls"}) == "bench.urls"
