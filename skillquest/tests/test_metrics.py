from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import django_rq
import pytest
from model_bakery import baker
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from challenges.models import Challenge
from skillquest import metrics
from skillquest.worker import Worker

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(response) -> dict[str, float]:
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def boom():
    raise RuntimeError("this job fails on purpose")


def test_metrics_from_loopback_has_request_db_and_rq_metrics(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert "django_db_execute_total" in body or "django_db_new_connections_total" in body
    assert samples(response)["skillquest_rq_up[]"] == 1


def test_metrics_is_404_outside_the_allow_list(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 404
    # The forwarded-for header is the client's to forge: it never opens the endpoint.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_with_the_bearer_token_from_anywhere(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_TOKEN = "scrape-secret-123"
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", **remote).status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **remote).status_code == 404
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123", **remote)
    assert ok.status_code == 200


def test_empty_token_never_matches(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404


def test_invalid_allow_list_refuses_to_start():
    env = {**os.environ, "METRICS_ALLOWED_IPS": "127.0.0.1,not-a-network"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'not-a-network'" in result.stderr


def test_submit_and_award_move_the_domain_counters(auth_client, django_capture_on_commit_callbacks):
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    submitted, xp, lag = (
        value("skillquest_challenge_submitted_total"),
        value("skillquest_xp_awarded_total"),
        value("skillquest_award_lag_seconds_count"),
    )
    attempt_id = auth_client.post(
        "/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json"
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(f"/api/v1/attempts/{attempt_id}/submit", {"score": 95}, format="json")
    assert response.status_code == 200
    assert value("skillquest_challenge_submitted_total") == submitted + 1
    assert value("skillquest_xp_awarded_total") == xp  # not yet: the worker awards

    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True):
        Worker([queue], connection=queue.connection).work(burst=True)
    assert value("skillquest_xp_awarded_total") == xp + 95
    assert value("skillquest_award_lag_seconds_count") == lag + 1

    with django_capture_on_commit_callbacks(execute=True):
        again = auth_client.post(f"/api/v1/attempts/{attempt_id}/submit", {"score": 95}, format="json")
    assert again.status_code == 409
    assert value("skillquest_challenge_submitted_total") == submitted + 1


def test_badge_awarded_counts_per_badge():
    before = value("skillquest_badges_awarded_total", badge="first-steps")
    metrics.badge_awarded("first-steps")
    metrics.badge_awarded("first-steps")
    assert value("skillquest_badges_awarded_total", badge="first-steps") == before + 2


def test_rq_collector_reports_depth_and_failed_jobs(client, django_capture_on_commit_callbacks):
    queue = django_rq.get_queue("default")
    with django_capture_on_commit_callbacks(execute=True):  # django_rq enqueues on commit
        queue.enqueue(boom)
        queue.enqueue(boom)
    scraped = samples(client.get("/metrics"))
    assert scraped["skillquest_rq_queue_depth[('queue', 'default')]"] == 2
    assert scraped["skillquest_rq_failed_jobs[('queue', 'default')]"] == 0
    Worker([queue], connection=queue.connection).work(burst=True)
    scraped = samples(client.get("/metrics"))
    assert scraped["skillquest_rq_queue_depth[('queue', 'default')]"] == 0
    assert scraped["skillquest_rq_failed_jobs[('queue', 'default')]"] == 2


def test_rq_collector_says_when_redis_is_down(client, settings):
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    scraped = samples(client.get("/metrics"))
    assert scraped["skillquest_rq_up[]"] == 0
    assert not any(key.startswith("skillquest_rq_queue_depth") for key in scraped)
