"""Rate limits: each limit answers 429 JSON with Retry-After, keyed as documented, counted in Redis.

The login and registration limits are tested with their keys, in accounts/tests/test_throttles.py.
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from model_bakery import baker
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.test import APIClient
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from challenges.models import Challenge
from progress.api.views import leaderboard_pages
from skillquest.redis_client import redis_connection
from skillquest.tests.helpers import assert_throttled, settings_in_a_fresh_process
from skillquest.throttling import ThrottlesInOneCall

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def challenge(db):
    return baker.make(Challenge, published=True, xp=10, grading={"type": "self_reported"})


def start(client, challenge):
    return client.post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")


def test_submit_is_limited_per_player(rates, auth_client, user, other_user, challenge):
    rates(submit="2/minute")
    attempt_ids = [start(auth_client, challenge).json()["id"] for _ in range(3)]
    submits = [
        auth_client.post(f"/api/v1/attempts/{pk}/submit", {"score": 80}, format="json") for pk in attempt_ids
    ]
    assert [r.status_code for r in submits[:2]] == [200, 200]
    assert_throttled(submits[2])
    # The refused submission was not graded, and another player has a budget of their own.
    assert user.attempts.filter(status="started").count() == 1
    other = APIClient()
    other.force_authenticate(other_user)
    other_attempt = start(other, challenge).json()["id"]
    assert (
        other.post(f"/api/v1/attempts/{other_attempt}/submit", {"score": 80}, format="json").status_code
        == 200
    )


def test_start_is_limited_per_player(rates, auth_client, challenge):
    rates(start="2/minute")
    assert [start(auth_client, challenge).status_code for _ in range(2)] == [201, 201]
    assert_throttled(start(auth_client, challenge))
    # Reads are not starts: the player can still list attempts.
    assert auth_client.get("/api/v1/attempts").status_code == 200


def test_anonymous_reads_are_limited_per_ip(rates, api_client, challenge):
    rates(anon="2/minute")
    assert [api_client.get("/api/v1/challenges", REMOTE_ADDR="10.6.0.1").status_code for _ in range(2)] == [
        200,
        200,
    ]
    assert_throttled(api_client.get("/api/v1/challenges", REMOTE_ADDR="10.6.0.1"))
    assert api_client.get("/api/v1/challenges", REMOTE_ADDR="10.6.0.2").status_code == 200


def test_authenticated_reads_are_limited_per_user(rates, auth_client, challenge):
    rates(user="3/minute")
    for n in range(3):
        assert auth_client.get("/api/v1/challenges", REMOTE_ADDR=f"10.7.0.{n}").status_code == 200
    assert_throttled(auth_client.get("/api/v1/challenges", REMOTE_ADDR="10.7.0.9"))


def test_forwarded_for_is_ignored_without_trusted_proxies(rates, api_client, challenge):
    rates(anon="2/minute")
    for n in range(2):
        api_client.get("/api/v1/challenges", REMOTE_ADDR="10.8.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}")
    # A client that invents a new X-Forwarded-For for each request gets no new budget.
    assert_throttled(
        api_client.get("/api/v1/challenges", REMOTE_ADDR="10.8.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9")
    )


def test_forwarded_for_names_the_client_behind_one_trusted_proxy(rates, settings, api_client, challenge):
    rates(anon="2/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.9.0.1"
    for _ in range(2):
        api_client.get("/api/v1/challenges", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 1.1.1.1")
    # The proxy appended the real client (last entry); what the client prepended is not trusted.
    assert_throttled(
        api_client.get("/api/v1/challenges", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="7.7.7.7, 1.1.1.1")
    )
    assert (
        api_client.get("/api/v1/challenges", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.1.1.2").status_code
        == 200
    )


def test_throttle_counters_live_in_redis(rates, settings, auth_client, user, challenge):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    rates(start="5/minute")
    start(auth_client, challenge)
    keys = [key.decode() for key in redis_connection().keys("*{throttle}_start_*") if isinstance(key, bytes)]
    assert keys and all(key.endswith(f"{{throttle}}_start_{user.pk}") for key in keys)


def rates_and_proxies_in_a_fresh_process(env: dict[str, str]) -> tuple[dict, int]:
    """The throttle rates and NUM_PROXIES that settings.py reads from `env` (a new interpreter)."""
    rates, proxies = settings_in_a_fresh_process(
        env, "[s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], s.REST_FRAMEWORK['NUM_PROXIES']]"
    )
    return rates, proxies


def test_rates_and_proxies_come_from_the_environment():
    env = {
        **os.environ,
        "THROTTLE_SUBMIT": "7/second",
        "THROTTLE_START": "8/minute",
        "THROTTLE_LOGIN": "9/hour",
        "THROTTLE_REGISTER": "10/day",
        "THROTTLE_ANON": "11/minute",
        "THROTTLE_USER": "12/minute",
        "THROTTLE_PASSWORD_RESET": "13/hour",
        "THROTTLE_VERIFY_EMAIL": "14/day",
        "THROTTLE_LIVE_CONNECT": "15/minute",
        "THROTTLE_INGEST": "16/second",
        "NUM_PROXIES": "2",
    }
    rates, proxies = rates_and_proxies_in_a_fresh_process(env)
    assert rates == {
        "submit": "7/second",
        "start": "8/minute",
        "login": "9/hour",
        "register": "10/day",
        "anon": "11/minute",
        "user": "12/minute",
        "password_reset": "13/hour",
        "verify_email": "14/day",
        "live_connect": "15/minute",
        "ingest": "16/second",
    }
    assert proxies == 2


def test_documented_defaults():
    env = {k: v for k, v in os.environ.items() if not k.startswith("THROTTLE_") and k != "NUM_PROXIES"}
    rates, proxies = rates_and_proxies_in_a_fresh_process(env)
    assert rates == {
        "submit": "30/minute",
        "start": "60/minute",
        "login": "10/minute",
        "register": "20/hour",
        "anon": "300/minute",
        "user": "1200/minute",
        "password_reset": "5/hour",
        "verify_email": "5/hour",
        "live_connect": "60/minute",
        "ingest": "6000/minute",
    }
    assert proxies == 0


def test_a_refused_request_uses_no_budget_and_waits_for_the_window(rates, auth_client, user, challenge):
    rates(start="2/minute")
    assert [start(auth_client, challenge).status_code for _ in range(2)] == [201, 201]
    for _ in range(3):
        refused = start(auth_client, challenge)
        assert_throttled(refused)
        assert int(refused["Retry-After"]) <= 60
    counter = [
        redis_connection().get(key) for key in redis_connection().keys(f"*{{throttle}}_start_{user.pk}")
    ]
    assert counter == [b"2"]
    assert user.attempts.count() == 2


def test_a_stale_history_list_under_the_key_starts_a_fresh_window(rates, auth_client, user, challenge):
    # What DRF's own throttle (an older version of this code) left in the cache: a pickled list.
    cache.set(f"{{throttle}}_start_{user.pk}", [1.0, 2.0], 60)
    rates(start="1/minute")
    assert start(auth_client, challenge).status_code == 201
    assert_throttled(start(auth_client, challenge))


def test_without_redis_the_counters_live_in_process_memory(rates, settings, auth_client, challenge):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    rates(start="2/minute")
    assert [start(auth_client, challenge).status_code for _ in range(2)] == [201, 201]
    refused = start(auth_client, challenge)
    assert_throttled(refused)
    assert int(refused["Retry-After"]) <= 60
    assert redis_connection().keys("*{throttle}_start_*") == []


def test_a_request_refused_by_one_limit_counts_against_none(rates, auth_client, user, challenge):
    rates(start="1/minute", user="100/minute")
    assert start(auth_client, challenge).status_code == 201
    for _ in range(2):
        assert_throttled(start(auth_client, challenge))
    redis = redis_connection()
    assert [redis.get(key) for key in redis.keys(f"*{{throttle}}_user_{user.pk}")] == [b"1"]
    assert [redis.get(key) for key in redis.keys(f"*{{throttle}}_start_{user.pk}")] == [b"1"]


def test_all_limits_of_an_attempt_request_cost_one_redis_call(rates, auth_client, challenge):
    rates(start="100/minute", user="100/minute")
    redis = redis_connection()
    start(auth_client, challenge)  # loads the script

    # What this test's database receives, not the server's command statistics: those count every
    # client, and parallel test workers (each on a database of its own) make throttled requests too.
    database = redis.connection_pool.connection_kwargs["db"]
    end = f"end-of-request-{uuid.uuid4().hex}"
    with redis.monitor() as monitor:
        assert start(auth_client, challenge).status_code == 201  # the player's limit and the start limit
        redis.echo(end)
        received = list(itertools.takewhile(lambda seen: seen["command"] != f"ECHO {end}", monitor.listen()))
    script_calls = [
        seen for seen in received if seen["db"] == database and seen["command"].upper().startswith("EVALSHA ")
    ]
    assert len(script_calls) == 1


def test_leaderboard_pages_answered_from_memory_use_no_budget(rates, settings, api_client):
    settings.LEADERBOARD_CACHE_SECONDS = 60
    leaderboard_pages.clear()
    rates(anon="2/minute")
    try:
        # The first read builds the page (counted); the next four are answered from memory.
        assert [api_client.get("/api/v1/leaderboard").status_code for _ in range(5)] == [200] * 5
        assert api_client.get("/api/v1/leaderboard", {"limit": 5}).status_code == 200  # built: counted
        assert_throttled(api_client.get("/api/v1/leaderboard", {"limit": 6}))  # a third build is refused
    finally:
        leaderboard_pages.clear()


def test_a_refusing_throttle_without_a_wait_still_refuses(rf):
    """DRF lets a throttle refuse without saying how long to wait; the one-call check must too."""

    class Closed(BaseThrottle):
        def allow_request(self, request, view):
            return False

        def wait(self):
            return None

    class View(ThrottlesInOneCall, APIView):
        throttle_classes = [Closed]

    with pytest.raises(Throttled) as refused:
        View().check_throttles(Request(rf.get("/")))
    # Throttled.__init__ sets `wait`; DRF's stub does not declare it.
    assert refused.value.wait is None  # type: ignore[attr-defined]
