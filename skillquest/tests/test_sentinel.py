"""Redis Sentinel failover on real processes: a master, a replica and three sentinels of our own, a
gunicorn and an RQ worker configured with REDIS_SENTINELS, players submitting while the master is
SIGKILLed. Nothing may answer 5xx, everything works on the new master within 15 s, every award
arrives (after the `award_pending` sweep the Procfile's worker runs) and the boards match SQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_rq.connection_utils import get_redis_connection
from model_bakery import baker
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.sentinel import Sentinel
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from challenges.models import Attempt, Tag
from challenges.tests.helpers import make_challenge
from progress.boards.backends import RedisBackend, SqlBackend
from progress.boards.windows import PERIODS, window_for
from progress.ledger.selectors import ledger_mismatches
from progress.live.layer import RESYNC, LiveChannelLayer
from skillquest import redis_sentinel
from skillquest.tests.helpers import ROOT, answers_ok, free_port, port_open, run_in_own_loop, wait_until
from skillquest.tests.processes import start_process, stop_processes

pytestmark = [pytest.mark.serial]

MASTER_NAME = "sq-master"
FAILOVER_BUDGET_SECONDS = 15.0


def _knows_the_group(sentinel: Redis) -> bool:
    replicas, others = sentinel.sentinel_slaves(MASTER_NAME), sentinel.sentinel_sentinels(MASTER_NAME)
    assert isinstance(replicas, list) and isinstance(others, list)
    return len(replicas) == 1 and len(others) == 2


class SentinelGroup:
    """redis-server master and replica, three sentinels (quorum 2) watching them, in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.master_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    def _start(self, name: str, port: int, *args: str) -> None:
        assert not port_open(port), f"port {port} is taken"
        self.processes[name] = start_process(
            ["redis-server", *args],
            cwd=self.workdir,
            log=self.workdir / f"{name}.log",
            ready=lambda: port_open(port),
            what=f"{name} to listen",
        )

    def start(self) -> None:
        data = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.workdir))
        self._start("master", self.master_port, "--port", str(self.master_port), *data)
        self._start(
            "replica",
            self.replica_port,
            *("--port", str(self.replica_port), *data),
            *("--replicaof", "127.0.0.1", str(self.master_port)),
        )
        for index, port in enumerate(self.sentinel_ports):
            # A sentinel rewrites its own file (what it learns): each gets one, in the temp dir.
            conf = self.workdir / f"sentinel-{index}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {MASTER_NAME} 3000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n"
            )
            self._start(f"sentinel-{index}", port, str(conf), "--sentinel")
        # A failover needs the sentinels to know the replica and each other (they learn both through
        # the master within a few seconds): wait for it, or the kill below would find no quorum.
        for port in self.sentinel_ports:
            client = Redis(port=port, socket_timeout=2)
            wait_until(
                partial(_knows_the_group, client),
                what=f"sentinel {port} to discover the replica and the other sentinels",
                seconds=30,
            )
            client.close()

    def master_port_now(self) -> int:
        """The master's port as the first sentinel that answers has it."""
        for port in self.sentinel_ports:
            client = Redis(port=port, socket_timeout=2)
            try:
                address = client.sentinel_get_master_addr_by_name(MASTER_NAME)
            except RedisConnectionError:
                continue
            finally:
                client.close()
            assert isinstance(address, tuple), address
            return int(address[1])
        raise AssertionError("no sentinel answered")

    def kill_master(self) -> None:
        self.processes["master"].send_signal(signal.SIGKILL)
        self.processes["master"].wait(10)

    def stop(self) -> None:
        stop_processes(*self.processes.values())


@pytest.fixture
def sentinel_group(tmp_path):
    group = SentinelGroup(tmp_path)
    try:
        group.start()
        yield group
    finally:
        group.stop()


def _app_env(group: SentinelGroup) -> dict[str, str]:
    """A real process on the test database, with Redis only through the sentinels. REDIS_URL's host
    names nothing that exists: only its database index is used."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": f"redis://{MASTER_NAME}/0",
        "REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in group.sentinels),
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        "AWARD_COALESCE_SECONDS": "0",
        # Rarity refreshes go through the worker's scheduler: soon enough to see it work after the kill.
        "BADGE_RARITY_REFRESH_SECONDS": "1",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def app(sentinel_group, tmp_path):
    """The Procfile's `web` (gunicorn) and the RQ worker of its `worker`, both through the sentinels."""
    env = _app_env(sentinel_group)
    port = free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    processes = [
        start_process(
            [
                *(sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"),
                *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"),
                "skillquest.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            log=web_log,
        ),
        start_process(
            [
                *(sys.executable, "manage.py", "rqworker", "--worker-class", "skillquest.worker.Worker"),
                *("--with-scheduler", "default", "webhooks"),
            ],
            cwd=ROOT,
            env=env,
            log=worker_log,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: answers_ok(f"{base}/readyz"),
            what="gunicorn to be ready",
            seconds=60,
            processes=processes,
            logs=web_log.read_text,
        )
        yield base, env, {"web": web_log, "worker": worker_log}, processes
    finally:
        stop_processes(*processes, seconds=30)


def _http(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class Players:
    """Players in threads: start an attempt, submit it, read the board, again, until stopped."""

    def __init__(self, base: str, users: list[User], challenges: list) -> None:
        self.base = base
        self.tokens = {user.pk: str(AccessToken.for_user(user)) for user in users}
        self.challenges = challenges
        self.stop = threading.Event()
        self.statuses: Counter = Counter()
        self.failures: list[tuple[str, int, object]] = []
        self.submitted: list[tuple[float, str]] = []  # (when, attempt id) of every 200 submit
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._play, args=(user.pk,)) for user in users]

    def _call(self, name: str, method: str, path: str, token: str, body: dict | None = None):
        status, answer = _http(self.base, method, path, token, body)
        with self.lock:
            self.statuses[(name, status)] += 1
            if status >= 500:
                self.failures.append((name, status, answer))
        return status, answer

    def _play(self, user_id) -> None:
        token = self.tokens[user_id]
        round_ = 0
        while not self.stop.is_set():
            challenge = self.challenges[round_ % len(self.challenges)]
            score = 60 + (round_ * 7) % 41
            round_ += 1
            status, body = self._call(
                "start", "POST", "/api/v1/attempts/", token, {"challenge_id": challenge}
            )
            if status != 201:
                continue
            assert isinstance(body, dict)
            status, _ = self._call(
                "submit", "POST", f"/api/v1/attempts/{body['id']}/submit/", token, {"score": score}
            )
            if status == 200:
                with self.lock:
                    self.submitted.append((time.monotonic(), body["id"]))
            self._call("board", "GET", "/api/v1/leaderboard?period=week", token)

    def __enter__(self) -> Players:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in self.threads), "a player hung"

    def submitted_after(self, moment: float) -> list[str]:
        with self.lock:
            return [attempt_id for when, attempt_id in self.submitted if when > moment]


def _scheduled_job_ran_since(worker_log: Path, moment: datetime) -> bool:
    for line in worker_log.read_text().splitlines():
        if '"refresh_badge_rarity"' not in line and "refresh_badge_rarity" not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (
            record.get("event") == "job_finished"
            and record.get("ok")
            and datetime.fromisoformat(record["ts"]) > moment
        ):
            return True
    return False


def _round_trip(layer: LiveChannelLayer, text: str) -> bool:
    """A message sent on the channel layer comes back from it."""

    async def send_and_receive() -> dict:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "check", "text": text})
        return await asyncio.wait_for(layer.receive(channel), 10)

    return run_in_own_loop(send_and_receive) == {"type": "check", "text": text}


class _Subscriber:
    """A `ws` process's side of the channel layer, on an event loop of its own: one channel in
    `group`, and everything it hears in `heard`."""

    def __init__(self, layer: LiveChannelLayer, group: str) -> None:
        self.layer, self.group = layer, group
        self.heard: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="ws-side", daemon=True)

    def __enter__(self) -> _Subscriber:
        self.thread.start()
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(self.group, self.channel))
        self.listening = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        return self

    def _serve(self) -> None:
        self.loop.run_forever()
        # Closed here, where no other loop runs: channels_redis flushes a loop's layer when it closes,
        # and a loop left to the garbage collector would try that under another test's running loop.
        self.loop.close()

    async def _listen(self) -> None:
        while True:
            self.heard.append(await self.layer.receive(self.channel))

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def __exit__(self, *exc_info) -> None:
        self.listening.cancel()
        self._run(self.layer.flush())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _failover_story(group: SentinelGroup, worker_log: Path, killed_wall: datetime) -> str:
    """What a failed wait after the kill needs: when the master died, when each sentinel switched,
    and what the worker said besides its jobs (a reconnect to the dead master's port shows here)."""
    switched = [
        f"{path.name}: {line.strip()}"
        for path in sorted(group.workdir.glob("sentinel-*.log"))
        for line in path.read_text().splitlines()
        if "+switch-master" in line or "failover-abort" in line
    ]
    said = [
        line for line in worker_log.read_text().splitlines() if "job_" not in line and "award_xp" not in line
    ]
    return "\n".join(
        [f"master killed at {killed_wall.isoformat()}", *switched, "worker, besides its jobs:", *said[-20:]]
    )


def _awarded(attempt_ids: list[str]) -> bool:
    return bool(attempt_ids) and Attempt.objects.filter(pk__in=attempt_ids, xp_awarded__isnull=False).exists()


def test_a_command_in_flight_when_the_master_dies_finishes_on_the_promoted_replica(sentinel_group):
    """The RQ worker's client and the cache's, each blocked in BLPOP when the master is killed, retry
    on the new master as soon as the sentinels name it, not at the dead address for the whole of
    their retry (redis/redis-py#3874; see `redis_sentinel.MasterConnection`). The RQ worker's did so
    for ~13 s, past the failover drill's budget."""
    config = {
        "sentinels": sentinel_group.sentinels,
        "master": MASTER_NAME,
        "redis_url": "redis://x/0",
        "password": "",
    }
    worker = get_redis_connection(redis_sentinel.rq_queue(**config))
    worker.set_retry(redis_sentinel.worker_retry())  # as skillquest.worker.Worker does
    cache_pool = redis_sentinel.cache(**config)["OPTIONS"]
    cache = Redis(
        connection_pool=redis_sentinel.SentinelMasterPool.from_url(
            config["redis_url"], **{key: value for key, value in cache_pool.items() if key != "pool_class"}
        )
    )
    # The same long retry for the cache's client: what is tested is where a retry reconnects, and the
    # cache's own (~1 s, by design) may run out before a slow election ends.
    cache.set_retry(redis_sentinel.worker_retry())
    received: dict[str, tuple[float, object]] = {}

    def block(name: str, client: Redis) -> None:
        try:
            received[name] = (time.monotonic(), client.blpop([f"inflight:{name}"], timeout=4))
        except Exception as error:
            received[name] = (time.monotonic(), error)

    threads = [
        threading.Thread(target=block, args=("worker", worker)),
        threading.Thread(target=block, args=("cache", cache)),
    ]
    for client in (worker, cache):
        client.ping()
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both BLPOPs sent
    sentinel_group.kill_master()
    wait_until(
        lambda: sentinel_group.master_port_now() == sentinel_group.replica_port,
        what="the sentinels to promote the replica",
        seconds=FAILOVER_BUDGET_SECONDS,
    )
    promoted_at = time.monotonic()
    new_master = Redis(port=sentinel_group.replica_port)
    for name in ("worker", "cache"):
        new_master.rpush(f"inflight:{name}", "after")
    for thread in threads:
        thread.join(30)
    new_master.close()
    for name in ("worker", "cache"):
        at, answer = received[name]
        assert answer == (f"inflight:{name}".encode(), b"after"), (name, repr(answer), at - promoted_at)
        # Within a step or two of the retry's backoff (2 s at most) after the promotion, not once the
        # retry ran out on the dead address (13 s after it, without MasterConnection).
        assert at - promoted_at < 5, (name, at - promoted_at)


@pytest.mark.django_db(transaction=True)
def test_master_killed_while_players_submit_fails_over_without_a_5xx_or_a_lost_award(sentinel_group, app):
    base, env, logs, processes = app
    users = baker.make(User, _quantity=4, is_active=True, leaderboard_visible=True)
    tag = baker.make(Tag, slug="sentinel")
    challenges = [make_challenge(xp=10 * (index + 1)) for index in range(12)]
    for challenge in challenges[::2]:
        challenge.tags.add(tag)
    challenge_ids = [str(challenge.pk) for challenge in challenges]
    old_master = sentinel_group.master_port

    layer = LiveChannelLayer(
        hosts=[
            {
                **redis_sentinel.channel_host(
                    sentinels=sentinel_group.sentinels,
                    master=MASTER_NAME,
                    redis_url=env["REDIS_URL"],
                    password="",
                ),
                **settings.CHANNEL_LAYER_POOL,  # as settings.py builds it
            }
        ],
        prefix="skillquest:live:",
    )
    assert _round_trip(layer, "before")

    with _Subscriber(layer, "drill") as subscriber, Players(base, users, challenge_ids) as players:
        # Through the sentinels before the fault: awards arrive from the worker.
        wait_until(
            lambda: _awarded(players.submitted_after(0)),
            what="a first award through the sentinels",
            seconds=30,
            logs=logs["worker"].read_text,
        )
        killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
        sentinel_group.kill_master()
        wait_until(
            lambda: sentinel_group.master_port_now() == sentinel_group.replica_port,
            what="the sentinels to promote the replica",
            seconds=FAILOVER_BUDGET_SECONDS,
        )
        # Everything works on the new master: ready, and a submission made now is awarded by the worker.
        wait_until(lambda: answers_ok(f"{base}/readyz"), what="/readyz after the failover", seconds=15)
        promoted_at = time.monotonic()
        story = partial(_failover_story, sentinel_group, logs["worker"], killed_wall)
        wait_until(
            lambda: _awarded(players.submitted_after(promoted_at)),
            what="an award made on the new master",
            seconds=killed_at + FAILOVER_BUDGET_SECONDS - time.monotonic(),
            logs=story,
        )
        # The worker's scheduler (a process of its own) moves a job scheduled after the kill to the queue.
        wait_until(
            lambda: _scheduled_job_ran_since(logs["worker"], killed_wall),
            what="a scheduled rarity refresh after the failover",
            seconds=killed_at + FAILOVER_BUDGET_SECONDS - time.monotonic(),
            logs=story,
        )
        # The live channel layer, as the worker publishes through it, reaches the new master too; a
        # ws process's subscriber reconnects there through the sentinels and tells its sockets to
        # resume (what was published meanwhile is lost to them), then hears what is published.
        assert _round_trip(layer, "after")
        wait_until(
            lambda: {"type": RESYNC} in subscriber.heard,
            what="the subscriber's resync on the new master",
            seconds=killed_at + FAILOVER_BUDGET_SECONDS - time.monotonic(),
            logs=story,
        )
        run_in_own_loop(lambda: layer.group_send("drill", {"type": "drill.after"}))
        wait_until(
            lambda: {"type": "drill.after"} in subscriber.heard, what="a message after the resync", seconds=5
        )
        recovered_after = time.monotonic() - killed_at
        # Each player goes on submitting on the new master for a while (a later award of theirs
        # writes absolute totals, over anything the failover lost).
        time.sleep(3)

    assert players.failures == [], players.failures[:5]
    assert players.statuses[("submit", 200)] >= 20, players.statuses
    assert [process.poll() for process in processes] == [None, None]  # neither died of the failover
    assert recovered_after < FAILOVER_BUDGET_SECONDS
    assert sentinel_group.master_port_now() != old_master

    # The sweep (as the Procfile's worker runs it) schedules what the failover lost; the worker awards it.
    sweep = subprocess.run(
        [sys.executable, "manage.py", "award_pending"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    wait_until(
        lambda: not Attempt.objects.award_pending().exists(),
        what="every award",
        seconds=60,
        logs=logs["worker"].read_text,
    )
    graded = Attempt.objects.filter(status__in=Attempt.GRADED)
    assert graded.count() == players.statuses[("submit", 200)]
    assert not graded.filter(xp_awarded__isnull=True).exists()
    assert ledger_mismatches() == []

    # The boards on the new master are the database's, read through the sentinels like the app does.
    options = redis_sentinel.master_options(env["REDIS_URL"])
    manager = Sentinel(sentinel_group.sentinels, sentinel_kwargs=redis_sentinel.sentinel_options(""))
    new_master = manager.master_for(MASTER_NAME, db=options["db"])
    boards = RedisBackend(new_master)
    # The throttles counted there too (the cache's own pool follows the sentinels).
    assert new_master.keys(":1:{throttle}_submit_*")
    truth = SqlBackend()
    for tag_slug in (None, tag.slug):
        for period in PERIODS:
            window = window_for(period, tag=tag_slug)
            assert boards.page(window, 100, 0) == truth.page(window, 100, 0), window.key
            assert truth.page(window, 100, 0)[0] == len(users), window.key
