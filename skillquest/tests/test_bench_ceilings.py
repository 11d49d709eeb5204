from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.urls import clear_url_caches

import skillquest.urls

pytestmark = pytest.mark.django_db
CEILINGS = ["/bench/json", "/bench/drf", "/bench/pk-select", "/bench/pk-update", "/bench/redis-top10"]


@pytest.fixture
def routed(settings):
    """Reload the root URLconf with BENCH_CEILINGS as the test sets it, and restore it afterwards."""

    def reload(enabled: bool) -> None:
        settings.BENCH_CEILINGS = enabled
        importlib.reload(skillquest.urls)
        clear_url_caches()

    yield reload
    reload(False)


@pytest.mark.parametrize("url", CEILINGS)
def test_ceiling_views_are_not_routed_by_default(client, routed, url):
    routed(False)
    assert client.get(url).status_code == 404


def test_ceiling_views_answer_when_enabled(client, routed):
    routed(True)
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
