"""Faults against the real services: a Redis of our own that we stop and flush, real worker processes
(the Procfile's worker line) that we SIGKILL, and PostgreSQL backends that we terminate.

Never the shared Redis: every test here runs its own throwaway `redis-server` on FAULT_REDIS_PORT.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import django_rq
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.tests.helpers import make_challenge, start, submit
from progress import jobs
from progress.awards import rules
from progress.boards import backends
from progress.boards import selectors as board_selectors
from progress.ledger.selectors import ledger_mismatches
from progress.models import Badge, Notification, UserBadge, XpEntry
from progress.tests.parked import parked_updates
from skillquest.tests.helpers import port_open, wait_until
from skillquest.tests.processes import running, start_process, stop_processes

ROOT = Path(__file__).resolve().parents[2]
FAULT_REDIS_PORT = int(os.environ.get("FAULT_REDIS_PORT", "8163"))
FAULT_WEB_PORT = int(os.environ.get("FAULT_WEB_PORT", "8164"))
WORKER_APP = "sq-fault-worker"
pytestmark = pytest.mark.serial


class OwnRedis:
    """A throwaway redis-server we may stop, restart and FLUSHALL (no persistence: a restart is empty)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert not port_open(self.port), f"port {self.port} is taken"
        self.process = start_process(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            ready=lambda: port_open(self.port),
            what="redis-server to listen",
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            stop_processes(self.process)
        wait_until(lambda: not port_open(self.port), what="redis-server to stop")


@pytest.fixture
def own_redis(settings):
    """Our own Redis, wired in as the queue, the cache and the leaderboard store of this process."""
    redis = OwnRedis(FAULT_REDIS_PORT)
    redis.start()
    settings.REDIS_URL = redis.url
    settings.JOBS_IN_PROCESS = False
    settings.RQ_QUEUES = {"default": {**settings.RQ_QUEUES["default"], "URL": redis.url}}
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}
    }
    try:
        yield redis
    finally:
        redis.stop()


def _service_env(redis_url: str) -> dict[str, str]:
    """The environment of a real process (worker, web server) on the test database and our Redis."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }


def _procfile_worker_line(*, burst: bool) -> str:
    """The Procfile's worker command, run with this interpreter (and `--burst` so that it ends)."""
    line = next(
        line.split(":", 1)[1].strip()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("worker:")
    )
    assert line.startswith("python manage.py award_pending && "), line  # the start-up sweep
    line = line.replace("python ", f"{shlex.quote(sys.executable)} ")
    return f"{line} --burst" if burst else line


def _run_worker_line(redis_url: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", "-c", _procfile_worker_line(burst=True)],
        cwd=ROOT,
        env=_service_env(redis_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _rq_worker(redis_url: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "rqworker", "--worker-class", "skillquest.worker.Worker"]
    env = {**_service_env(redis_url), "PGAPPNAME": WORKER_APP}  # names its backends in pg_stat_activity
    return subprocess.Popen([*command, "--burst", "default"], cwd=ROOT, env=env, **popen)


def _expected_total(user: User) -> int:
    """XP the rules give for the player's graded attempts, replayed in submission order."""
    best: dict = {}
    total = 0
    for attempt in Attempt.objects.filter(user=user, status__in=Attempt.GRADED).select_related("challenge"):
        assert attempt.score is not None  # graded attempts carry a score
        base = rules.attempt_base_xp(
            challenge_xp=attempt.challenge.xp, score=attempt.score, pass_score=attempt.challenge.pass_score
        )
        total += rules.award_for(base=base, best_earlier_base=best.get(attempt.challenge_id, 0))
        best[attempt.challenge_id] = max(best.get(attempt.challenge_id, 0), base)
    return total


def _assert_awarded_exactly_once(user: User, badges: set[str]) -> None:
    user.refresh_from_db()
    attempts = Attempt.objects.filter(user=user, status__in=Attempt.GRADED)
    assert attempts.filter(xp_awarded__isnull=True).count() == 0
    paid = sum(xp for xp in attempts.values_list("xp_awarded", flat=True) if xp is not None)
    assert user.total_xp == paid == _expected_total(user)
    assert user.level == rules.level_for_xp(user.total_xp)
    # The ledger agrees: an entry per paying award and none twice, and the total is their sum.
    entries = XpEntry.objects.filter(user=user)
    assert set(entries.values_list("kind", flat=True)) <= {XpEntry.Kind.ATTEMPT}
    assert user.total_xp == sum(entries.values_list("amount", flat=True))
    # A list, not a set: an attempt with two entries would show up twice.
    assert sorted(entries.values_list("attempt_id", "amount")) == sorted(
        attempts.filter(xp_awarded__gt=0).values_list("id", "xp_awarded")
    )
    assert ledger_mismatches() == []
    held = list(UserBadge.objects.filter(user=user).values_list("badge__slug", flat=True))
    assert sorted(held) == sorted(badges)  # each once (also a unique constraint)
    # Recalculating from scratch changes nothing: no award was lost or counted twice.
    call_command("recalc_xp", stdout=open(os.devnull, "w"))  # noqa: SIM115
    user.refresh_from_db()
    assert user.total_xp == paid
    assert not XpEntry.objects.filter(user=user, kind=XpEntry.Kind.RECALC).exists()


def _graded_attempts(user: User, challenges: list[Challenge], scores: list[int]) -> list[Attempt]:
    """Graded, not yet awarded attempts (as a submit leaves them), one per score, cycling challenges."""

    now = timezone.now()
    return [
        Attempt.objects.create(
            user=user,
            challenge=challenges[index % len(challenges)],
            status="passed" if score >= 50 else "failed",
            score=score,
            submitted_at=now,
        )
        for index, score in enumerate(scores)
    ]


@pytest.fixture
def xp_badges(db):
    Badge.objects.create(name="Ten", slug="ten", condition={"type": "xp", "threshold": 10})
    Badge.objects.create(name="Big", slug="big", condition={"type": "xp", "threshold": 250})
    Badge.objects.create(name="Huge", slug="huge", condition={"type": "xp", "threshold": 10**9})


@pytest.mark.django_db(transaction=True)
def test_redis_stops_while_players_submit_then_the_sweep_awards_each_once(
    own_redis, user, other_user, xp_badges
):
    players = {}
    for account in (user, other_user):
        client = APIClient()
        client.force_authenticate(account)
        players[account.pk] = client
    challenges = [make_challenge(xp=100, grading={"type": "self_reported"}) for _ in range(3)]
    started = {pk: [start(client, challenge) for challenge in challenges] for pk, client in players.items()}

    own_redis.stop()
    for pk, client in players.items():
        for attempt_id, score in zip(started[pk], (80, 100, 40), strict=True):
            response = submit(client, attempt_id, score=score)
            assert response.status_code == 200, response.content
    assert Attempt.objects.award_pending().count() == 6
    assert User.objects.filter(total_xp__gt=0).count() == 0
    ready = APIClient().get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["down"] == ["redis"]

    own_redis.start()  # empty: whatever was queued before is gone
    assert APIClient().get("/readyz").status_code == 200
    first = _run_worker_line(own_redis.url)
    assert "6 pending award(s) scheduled." in first.stdout
    second = _run_worker_line(own_redis.url)  # a restart: the sweep finds nothing left
    assert "No pending awards." in second.stdout
    # A stale job for each attempt delivered again changes nothing.
    queue = django_rq.get_queue("default")
    for attempt_id in started[user.pk]:
        queue.enqueue(jobs.award_xp_and_badges, attempt_id)
    _run_worker_line(own_redis.url)

    for account in (user, other_user):
        _assert_awarded_exactly_once(account, {"ten"})
        assert User.objects.get(pk=account.pk).total_xp == 80 + 100  # 40 fails the pass score


@pytest.fixture
def blocking_award(db):
    """A trigger that parks the award transaction after it has written the attempts and the player's
    total, until we release an advisory lock: a worker can then be killed mid-award."""
    with parked_updates("accounts_user") as handles:
        yield handles


def _worker_backends() -> int:
    """Connections of the RQ worker processes we started (not this process' own, a live server's...)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_award_rolls_back_and_the_sweep_awards_exactly(
    own_redis, user, xp_badges, blocking_award
):
    parked, release = blocking_award
    challenges = [make_challenge(xp=100) for _ in range(4)]
    _graded_attempts(user, challenges, [60, 90, 100, 30, 70, 100, 55, 20])
    assert jobs.schedule_award(None, force=True)

    worker = _rq_worker(own_redis.url, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(parked, what="the award to reach the player's total")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    release()
    # The dead worker's backend sees its client gone and rolls the batch back.
    wait_until(lambda: _worker_backends() == 0, what="the killed worker's connection to end")
    assert Attempt.objects.filter(xp_awarded__isnull=False).count() == 0
    assert User.objects.get(pk=user.pk).total_xp == 0
    assert not XpEntry.objects.exists()  # the batch's entries went with it
    assert ledger_mismatches() == []
    assert not UserBadge.objects.exists()
    assert not Notification.objects.exists()  # told nothing of an award that never was

    # The restart (Procfile line: sweep, then worker) awards every attempt exactly once.
    result = _run_worker_line(own_redis.url)
    assert "8 pending award(s) scheduled." in result.stdout
    _assert_awarded_exactly_once(user, {"ten", "big"})


@pytest.mark.django_db(transaction=True)
def test_same_job_twice_and_two_workers_racing_on_one_player(own_redis, user, xp_badges):
    challenges = [make_challenge(xp=40 + 10 * index) for index in range(6)]
    attempts = _graded_attempts(user, challenges, [55, 100, 70, 90, 60, 100, 80, 100, 65, 95, 50, 100] * 3)
    queue = django_rq.get_queue("default")
    for attempt in attempts:  # every award job delivered twice
        queue.enqueue(jobs.award_xp_and_badges, str(attempt.pk))
        queue.enqueue(jobs.award_xp_and_badges, str(attempt.pk))

    workers = [_rq_worker(own_redis.url, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
    assert len(queue.finished_job_registry) >= 2 * len(attempts)  # plus the one the submits scheduled
    assert len(queue.failed_job_registry) == 0
    _assert_awarded_exactly_once(user, {"ten", "big"})


@pytest.fixture
def web_server(own_redis, db):
    """A real gunicorn (the Procfile's config) on the test database, its log captured."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"sq-fault-web-{os.getpid()}.log"
    env = {
        **_service_env(own_redis.url),
        "PGAPPNAME": "sq-fault-web",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    with running(
        [
            *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{FAULT_WEB_PORT}", "--workers", "1", "--threads", "1"),
            "skillquest.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        log=log,
        ready=lambda: port_open(FAULT_WEB_PORT),
        what="gunicorn to listen",
        stop_seconds=20,
    ):
        yield f"http://127.0.0.1:{FAULT_WEB_PORT}", log


def _http(base: str, method: str, path: str, token: str, body: dict | None = None):

    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def _web_backend_pids() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'sq-fault-web'")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_database_connection_dropped_mid_request_fails_cleanly_and_the_next_succeeds(web_server, user):

    base, log = web_server
    token = str(AccessToken.for_user(user))
    challenge = make_challenge(xp=100)
    status, _, body = _http(base, "POST", "/api/v1/attempts/", token, {"challenge_id": str(challenge.pk)})
    assert status == 201, body
    attempt_id = body["id"]

    # Park the submit inside its transaction (after it wrote the attempt), then kill its connection.
    outcome: dict = {}
    request = threading.Thread(
        target=lambda: outcome.update(
            result=_http(base, "POST", f"/api/v1/attempts/{attempt_id}/submit/", token, {"score": 90})
        )
    )
    with parked_updates("challenges_attempt") as (parked, _release):
        request.start()
        wait_until(parked, what="the submit to park")
        [pid] = _web_backend_pids()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        request.join(30)

    status, headers, body = outcome["result"]
    assert status in {500, 503}, body
    assert headers["Content-Type"].startswith("application/json")
    assert body["code"] in {"server_error", "service_unavailable"}
    attempt = Attempt.objects.get(pk=attempt_id)
    assert (attempt.status, attempt.score, attempt.submitted_at) == (
        "started",
        None,
        None,
    )  # nothing half-written
    request_id = headers["X-Request-ID"]
    wait_until(
        lambda: request_id in log.read_text() and "terminat" in log.read_text(), what="the error in the log"
    )

    status, _, body = _http(base, "POST", f"/api/v1/attempts/{attempt_id}/submit/", token, {"score": 90})
    assert status == 200, body
    assert body["status"] == "passed"


@pytest.mark.django_db(transaction=True)
def test_after_flushall_one_command_rebuilds_the_boards_to_match_the_database(own_redis, xp_badges):
    players = baker.make(User, _quantity=12)
    challenges = [make_challenge(xp=10 * (index + 1)) for index in range(5)]
    for index, player in enumerate(players):
        _graded_attempts(player, challenges[: 1 + index % 5], [50 + (index * 7) % 50] * (1 + index % 5))
    assert jobs.schedule_award(None, force=True)
    _run_worker_line(own_redis.url)
    api = APIClient()
    before = api.get("/api/v1/leaderboard/", {"limit": 100}).json()

    django_rq.get_connection("default").flushall()  # our own instance only
    assert api.get("/api/v1/leaderboard/", {"limit": 100}).json() != before
    call_command("rebuild_leaderboard", stdout=open(os.devnull, "w"))  # noqa: SIM115

    after = api.get("/api/v1/leaderboard/", {"limit": 100}).json()
    assert after == before
    # And both equal what the database says, computed without Redis.
    for period in ("all", "week", "month"):
        in_db = board_selectors.top(period, limit=100, backend=backends.SqlBackend()).results
        in_redis = board_selectors.top(period, limit=100).results
        assert in_redis == in_db
        assert len(in_db) == len(players)
    assert ledger_mismatches() == []  # the totals the boards were rebuilt from are the ledger's
    assert own_redis.url == django_settings.REDIS_URL
