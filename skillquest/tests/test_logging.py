from __future__ import annotations

import io
import json
import logging

import django_rq
import pytest
from model_bakery import baker

from challenges.models import Challenge
from progress import jobs
from skillquest.logging import JsonFormatter, log_context, log_event
from skillquest.worker import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """Every record at INFO and above, formatted as production formats it, one JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_response_carries_a_generated_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_sane_incoming_request_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a9c2e.41")
    assert response["X-Request-ID"] == "edge-7f3a9c2e.41"


@pytest.mark.parametrize(
    "bad", ["short", "has space in it", "x" * 129, 'quote"injection-123', "-leading-dash"]
)
def test_insane_incoming_request_id_is_replaced(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_every_line_of_a_request_has_its_request_id(client, json_log):
    client.get("/healthz", HTTP_X_REQUEST_ID="req-0123456789")
    lines = json_log()
    assert [line["event"] for line in lines] == ["http_request"]
    assert lines[0]["request_id"] == "req-0123456789"
    assert (lines[0]["method"], lines[0]["path"], lines[0]["status"]) == ("GET", "/healthz", 200)


def test_log_context_nests_and_unwinds(json_log):
    logger = logging.getLogger("skillquest.test")
    with log_context(request_id="outer-request"):
        with log_context(job_id="job-1"):
            log_event(logger, "inner", password="hunter2")
        log_event(logger, "outer")
    log_event(logger, "outside")
    inner, outer, outside = json_log()
    assert (inner["request_id"], inner["job_id"], inner["password"]) == (
        "outer-request",
        "job-1",
        "[redacted]",
    )
    assert outer["request_id"] == "outer-request" and "job_id" not in outer
    assert "request_id" not in outside


# Real commits: on-commit callbacks run inside the request, as they do in production.
@pytest.mark.django_db(transaction=True)
def test_one_submit_logs_from_web_and_worker_share_the_request_id(auth_client, user, json_log):
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    started = auth_client.post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")
    attempt_id = started.json()["id"]
    response = auth_client.post(
        f"/api/v1/attempts/{attempt_id}/submit",
        {"score": 95},
        format="json",
        HTTP_X_REQUEST_ID="submit-req-42abc",
    )
    assert response["X-Request-ID"] == "submit-req-42abc"
    queue = django_rq.get_queue("default")
    job = queue.jobs[0]
    assert job.meta["request_id"] == "submit-req-42abc"

    Worker([queue], connection=queue.connection).work(burst=True)

    lines = [line for line in json_log() if line.get("request_id") == "submit-req-42abc"]
    by_event = {line["event"]: line for line in lines}
    assert {"challenge_submitted", "http_request", "job_started", "xp_awarded", "job_finished"} <= set(
        by_event
    )
    submitted = by_event["challenge_submitted"]
    assert (submitted["user_id"], submitted["attempt_id"], submitted["score"]) == (
        str(user.pk),
        attempt_id,
        95,
    )
    awarded = by_event["xp_awarded"]
    assert (awarded["user_id"], awarded["attempt_id"]) == (str(user.pk), attempt_id)
    assert (awarded["xp"], awarded["total_xp"]) == (95, 95)
    assert by_event["job_started"]["job_id"] == job.id
    assert by_event["job_finished"]["ok"] is True


def test_sweep_jobs_have_no_request_id(user, json_log, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = baker.make(Challenge, xp=10, published=True)
        jobs.schedule_award(baker.make("challenges.Attempt", user=user, challenge=challenge).pk)
    assert django_rq.get_queue("default").jobs[0].meta["request_id"] is None
