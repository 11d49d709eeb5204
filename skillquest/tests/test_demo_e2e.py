"""The issue's "Done when": scripts/demo.sh against the Procfile's web and worker processes moves the
domain counters on /metrics, and one submit's log lines from web and worker share a request id."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets.sync.client
from django.db import connection
from model_bakery import baker
from prometheus_client.parser import text_string_to_metric_families

from challenges.models import Attempt, Challenge
from skillquest.tests.helpers import ROOT, answers_ok, wait_until
from skillquest.tests.processes import running, start_process, stop_processes

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True)]
PORT = int(os.environ.get("DEMO_PORT", "8151"))


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def procfile_processes(tmp_path, settings):
    """The Procfile's `web` (gunicorn) and `worker` (award_pending + RQ worker) on the test database."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DEBUG": "false",
        "SECRET_KEY": "e2e-secret-key-not-for-production",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "STATIC_MANIFEST": "false",
        "LOG_LEVEL": "INFO",
        "PORT": str(PORT),
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    processes, logs = [], {}
    for name, command in procfile().items():
        if name == "release":
            continue
        logs[name] = tmp_path / f"{name}.log"
        processes.append(
            start_process(  # the Procfile line as a platform would run it
                ["bash", "-c", command], cwd=ROOT, env=env, log=logs[name], stdout=subprocess.DEVNULL
            )
        )
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_until(
            lambda: answers_ok(f"{base}/readyz"),
            what="/readyz to answer 200",
            seconds=60,
            processes=processes,
            logs=lambda: {n: p.read_text()[-3000:] for n, p in logs.items()},
        )
        yield base, logs
    finally:
        stop_processes(*processes, seconds=15)


def test_demo_against_procfile_processes_moves_metrics_and_shares_request_id(procfile_processes):
    base, logs = procfile_processes
    baker.make(Challenge, title="Demo quest", slug="demo-quest", xp=100, pass_score=50, published=True)
    before = scrape(base)

    demo = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        env={**os.environ, "BASE_URL": base, "DEMO_TIMEOUT": "60"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert demo.returncode == 0, (
        demo.stdout[-3000:] + demo.stderr[-3000:] + logs["worker"].read_text()[-3000:]
    )
    assert "xp awarded: 95" in demo.stdout
    attempt = Attempt.objects.get()
    assert attempt.xp_awarded == 95 and attempt.awarded_at is not None

    after = scrape(base)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    # Counted in the web process...
    assert moved("skillquest_challenge_submitted_total") == 1
    # ...and in the RQ worker process, reaching Prometheus through the shared multiprocess directory.
    assert moved("skillquest_xp_awarded_total") == 95
    assert moved("skillquest_award_lag_seconds_count") == 1
    assert after[("skillquest_rq_queue_depth", (("queue", "default"),))] == 0
    assert after[("skillquest_rq_failed_jobs", (("queue", "default"),))] == 0
    assert after[("skillquest_rq_workers", (("queue", "default"),))] == 1
    assert moved("django_http_requests_total_by_method_total", method="POST") >= 4
    assert any(name == "django_db_execute_total" and value > 0 for (name, _), value in after.items())

    request_line = re.search(r"^request id: (\S+)$", demo.stdout, re.MULTILINE)
    assert request_line
    request_id = request_line.group(1)
    web, worker = json_lines(logs["web"]), json_lines(logs["worker"])
    web_events = {line["event"] for line in web if line.get("request_id") == request_id}
    worker_events = {line["event"] for line in worker if line.get("request_id") == request_id}
    assert {"challenge_submitted", "http_request"} <= web_events
    assert {"job_started", "xp_awarded", "job_finished"} <= worker_events
    submitted = next(line for line in web if line["event"] == "challenge_submitted")
    assert submitted["attempt_id"] == str(attempt.pk) and submitted["score"] == 95
    awarded = next(line for line in worker if line["event"] == "xp_awarded")
    assert awarded["attempt_id"] == str(attempt.pk)
    assert (awarded["xp"], awarded["total_xp"]) == (95, 95)


QUICKSTART_PORT = int(os.environ.get("QUICKSTART_PORT", "8153"))


def _json(base: str, method: str, path: str, body: dict | None = None, token: str = "") -> dict:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read()[:500]!r}")


def _award_heard_on_the_socket(base: str) -> dict:
    """An API client's flow on the quickstart: a ticket, the socket on the same port, a one-call
    submit; returns the `xp_awarded` message the socket hears (in-process job, in-memory layer)."""
    password = "Quick-Start-Socket-42"
    _json(
        base,
        "POST",
        "/api/v1/auth/register",
        {"username": "listener", "email": "l@example.com", "password": password},
    )
    token = _json(base, "POST", "/api/v1/auth/login", {"username": "listener", "password": password})[
        "access_token"
    ]
    ticket = _json(base, "POST", "/api/v1/live/ticket", token=token)["ticket"]
    listed = _json(base, "GET", "/api/v1/challenges?page_size=100", token=token)["results"]
    challenge = next(item for item in listed if item["grading_type"] == "self_reported")
    with websockets.sync.client.connect(
        f"{base.replace('http', 'ws', 1)}/ws/live/?ticket={ticket}"
    ) as socket:
        attempt = _json(
            base, "POST", "/api/v1/attempts", {"challenge_id": challenge["id"], "score": 100}, token
        )
        while True:
            message = json.loads(socket.recv(timeout=30))
            if message["type"] == "xp_awarded":
                assert message["data"]["attempt_id"] == attempt["id"]
                return message


@pytest.mark.django_db
def test_demo_script_passes_against_make_run_quickstart(tmp_path):
    """`make run` with no DATABASE_URL/REDIS_URL (SQLite, in-process jobs), then scripts/demo.sh."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "TEST_DATABASE_NAME"}
    }
    env.update(PORT=str(QUICKSTART_PORT), DATABASE_URL=f"sqlite:///{tmp_path / 'quickstart.sqlite3'}")
    base = f"http://127.0.0.1:{QUICKSTART_PORT}"
    with running(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        log=tmp_path / "run.log",
        ready=lambda: answers_ok(f"{base}/readyz"),
        what="/readyz to answer 200",
        seconds=120,
        stop_seconds=30,
    ):
        demo = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=ROOT,
            env={**env, "BASE_URL": base},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "== Done:" in demo.stdout
        assert re.search(r"earned \d+ XP", demo.stdout)
        # One process serves /ws/ too (daphne's runserver), with no Redis: the in-memory channel layer.
        assert _award_heard_on_the_socket(base)["data"]["total_xp"] > 0
