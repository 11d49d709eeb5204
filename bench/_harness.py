"""Shared plumbing for the bench scripts: databases, the Procfile's processes, wrk, memory, reports.

Everything a scenario starts is stopped on exit, on an error and on Ctrl-C (each child runs in its
own process group, which is ended by its id). Only loopback addresses, only ports 8170-8179
(BENCH_PORT, BENCH_WS_PORT and BENCH_PROXY_PORT move them), only PostgreSQL databases named bench_*
and one Redis database index (BENCH_REDIS_URL, default index 8).

Longer than our ~250-line rule: it is one script's plumbing (databases, processes, wrk, memory,
reports) that every scenario shares, outside the app, and splitting it would only spread its
clean-up guarantees over several files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis

from scripts.nginx import render

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
# Every database the harness creates or drops starts with this (so two runs can share a server).
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
assert DB_PREFIX.startswith("bench_"), "BENCH_DB_PREFIX must start with bench_"
PORT = int(os.environ.get("BENCH_PORT", "8170"))
# The URLconf of the site plus the ceiling views (bench/urls.py), for the web servers that need them.
CEILINGS_URLCONF = "bench.urls"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789"
THROTTLES = ("SUBMIT", "START", "LOGIN", "REGISTER", "ANON", "USER", "LIVE_CONNECT")
# The Procfile's `ws:` process (bench/live.py), next to the web port unless told otherwise.
WS_PORT = int(os.environ.get("BENCH_WS_PORT", str(PORT + 1)))
# nginx with scripts/nginx/skillquest.conf.template in front of web and ws (leaderboard --via-proxy).
PROXY_PORT = int(os.environ.get("BENCH_PROXY_PORT", str(PORT + 2)))


# ---------------------------------------------------------------------------------------------- CLI


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="Small sizes, a few seconds: proves the script runs.")
    p.add_argument("--json", metavar="FILE", help="Also write the JSON results to FILE.")
    return p


def sizes(text: str) -> list[int]:
    """'10k,100k,1M' -> [10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        out.append(int(float(part.rstrip("km")) * mult))
    return out


# ------------------------------------------------------------------------------------------ results


@dataclass
class Result:
    scenario: str
    name: str
    throughput: float | None = None  # operations per second
    unit: str = "req/s"
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mb: float | None = None
    target: str = ""
    passed: bool | None = None  # None: no target, or not measurable today
    errors: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        d.update(self.extra)
        return d


def latency_ms(samples_s: list[float]) -> dict[str, float | None]:
    if not samples_s:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    ordered = sorted(samples_s)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "PASS" if value else "FAIL"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def memory_ratio(scenario: str, name: str, small_mb: float | None, large_mb: float | None) -> Result:
    """Peak RSS at the large size over the small one: flat (< 1.2) when memory does not grow with it."""
    ratio = large_mb / small_mb if small_mb and large_mb else None
    return Result(
        scenario, name, round(ratio, 2) if ratio else None, "ratio",
        target="flat (< 1.2)", passed=ratio < 1.2 if ratio else None,
    )  # fmt: skip


def report(results: list[Result], json_path: str | None = None) -> None:
    headers = ["scenario", "name", "throughput", "unit", "p50 ms", "p95 ms", "p99 ms", "peak MB", "errors",
               "target", "result"]  # fmt: skip
    rows = [
        [r.scenario, r.name, _fmt(r.throughput), r.unit, _fmt(r.p50_ms), _fmt(r.p95_ms), _fmt(r.p99_ms),
         _fmt(r.peak_rss_mb), str(r.errors), r.target or "-", "-" if r.passed is None else _fmt(r.passed)]
        for r in results
    ]  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    payload = [r.as_dict() for r in results]
    print("\nJSON " + json.dumps(payload))
    if json_path:
        Path(json_path).write_text(json.dumps(payload, indent=2))


# ------------------------------------------------------------------------------------------- memory


class MemoryWatch:
    """Samples the RSS of process trees (psutil) every `interval` seconds: the peak of each tree's sum.

    Sampled, so a peak that lasts less than an interval can be missed; Python processes rarely give
    memory back, so the last samples of a command are close to its high-water mark.
    """

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.roots: dict[str, int] = {}
        self.peak_total: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, label: str, pid: int) -> None:
        self.roots[label] = pid

    def reset(self, label: str) -> None:
        self.peak_total.pop(label, None)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for label, root in list(self.roots.items()):
                total = _tree_rss(root)
                if total:
                    self.peak_total[label] = max(self.peak_total.get(label, 0), total)

    def peak_mb(self, label: str) -> float | None:
        peak = self.peak_total.get(label)
        return round(peak / 2**20, 1) if peak else None

    def stop(self) -> None:
        self._stop.set()


def _tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now (0 once `root` has exited)."""
    try:
        process = psutil.Process(root)
        tree = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in tree:
        with contextlib.suppress(psutil.Error):  # a child that exited between the two calls
            total += member.memory_info().rss
    return total


# ------------------------------------------------------------------------------------------ harness


class Harness:
    """One scenario run: owns every process it starts and stops them all on exit."""

    def __init__(self, scenario: str):
        self.scenario = scenario
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.memory = MemoryWatch()
        self.logdir = Path(tempfile.mkdtemp(prefix=f"bench-{scenario}-"))
        self.database_url = ""
        self.procfile = _procfile()
        self.cleanup: list[Path] = []
        self._rc = 0

    def __enter__(self) -> Harness:
        # Explicit handlers: a process started in the background inherits SIGINT ignored, and would
        # otherwise leave its children running when interrupted.
        signal.signal(signal.SIGTERM, _raise_interrupt)
        signal.signal(signal.SIGINT, _raise_interrupt)
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
        self.memory.stop()
        for directory in self.cleanup:
            shutil.rmtree(directory, ignore_errors=True)

    # --- environment

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "THROTTLE_"))}
        env.pop("ROOT_URLCONF", None)  # the site's URLconf unless a scenario asks for the ceilings
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            DEBUG="false",
            SECRET_KEY=SECRET_KEY,
            DATABASE_URL=self.database_url,
            REDIS_URL=REDIS_URL,
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            # Plain HTTP on 127.0.0.1, as behind a TLS-terminating proxy; with DEBUG off the default
            # would answer every request with a 301 to https:// (which wrk counts as a success).
            SECURE_SSL_REDIRECT="false",
        )
        for name in THROTTLES:
            env[f"THROTTLE_{name}"] = "100000/second"
        env.update(extra)
        return env

    def manage(self, *args: str, check: bool = True, capture: bool = True, timeout: float = 3600) -> tuple:
        """Run `manage.py ARGS`: (wall seconds, peak RSS MB of the command, stdout)."""
        label = f"manage {args[0]}"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env(),
            stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append((label, proc))
        self.memory.reset(label)
        self.memory.watch(label, proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:  # timeout, Ctrl-C: end the command's process group, then re-raise
            self.stop(proc)
            raise
        self._forget(proc)
        wall = time.perf_counter() - started
        self._rc = proc.returncode
        peak = self.memory.peak_mb(label)
        if check and proc.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n{err[-3000:]}")
        return wall, peak, out or ""

    def direct(self, repeat: int = 200, awards: int = 0, history_entries: int = 0) -> dict:
        """bench/_direct.py on the current database: in-process endpoint, Redis, SQL and award costs."""
        args = ["--repeat", str(repeat), "--awards", str(awards), "--history-entries", str(history_entries)]
        proc = subprocess.run(
            [PYTHON, str(BENCH / "_direct.py"), *args],
            cwd=ROOT, env=self.env(ALLOWED_HOSTS="127.0.0.1,testserver"), capture_output=True, text=True,
        )  # fmt: skip
        for line in proc.stdout.splitlines():
            if line.startswith("DIRECTJSON "):
                return json.loads(line[11:])
        raise RuntimeError(f"bench/_direct.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")

    # --- databases

    def psql(self, sql: str, db: str | None = None) -> str:
        db = db or self.database_url.rsplit("/", 1)[1]
        out = subprocess.run(
            ["psql", "-h", PG_HOST, "-U", PG_USER, "-d", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    def db_exists(self, name: str) -> bool:
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'", db="postgres") == "1"

    def drop_db(self, name: str) -> None:
        assert name.startswith("bench_"), name
        subprocess.run(["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", "--force", name], check=True)

    def use_db(self, name: str) -> None:
        assert name.startswith("bench_"), name
        self.database_url = f"postgres://{PG_USER}@{PG_HOST}:5432/{name}"

    def template(self) -> str:
        """bench_template: an empty, migrated database that every data set is copied from."""
        name = f"{DB_PREFIX}template"
        self.use_db(name)
        if self.db_exists(name):
            self.manage("migrate", "--check", check=False)
            if self._rc == 0:
                return name
            self.drop_db(name)
        subprocess.run(["createdb", "-h", PG_HOST, "-U", PG_USER, name], check=True)
        self.migrate()
        return name

    def migrate(self) -> None:
        """The Procfile's release: line (migrate), on the current database."""
        release = self.procfile.get("release", "python manage.py migrate --noinput")
        proc = subprocess.run(
            ["bash", "-c", release], cwd=ROOT, env=self.env(), capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError(f"release ({release}) failed:\n{proc.stderr[-3000:]}")

    def fresh_db(self, name: str) -> None:
        template = self.template()
        self.drop_db(name)
        subprocess.run(["createdb", "-h", PG_HOST, "-U", PG_USER, "-T", template, name], check=True)
        self.use_db(name)

    def dataset(self, users: int, attempts: int, *, name: str | None = None, fresh: bool = False) -> dict:
        """A database with `users` load players and `attempts` graded attempts (seed tops up)."""
        name = name or f"{DB_PREFIX}u{users}_a{attempts}"
        if fresh or not self.db_exists(name):
            self.fresh_db(name)
        self.use_db(name)
        self.migrate()
        have = self.psql(
            "SELECT (SELECT count(*) FROM accounts_user WHERE username LIKE 'load%'), "
            "(SELECT count(*) FROM challenges_attempt a JOIN accounts_user u ON u.id = a.user_id "
            "WHERE u.username LIKE 'load%')"
        ).split("|")
        seeded = {"database": name, "seed_seconds": None, "seed_peak_mb": None}
        if int(have[0]) < users or int(have[1]) < attempts:
            print(f"[{self.scenario}] seeding {name}: {users} players, {attempts} attempts", flush=True)
            wall, peak, _ = self.manage("seed", "--users", str(users), "--attempts", str(attempts))
            seeded.update(seed_seconds=round(wall, 2), seed_peak_mb=peak)
        # VACUUM too: the seeder pays its attempts in one UPDATE, which leaves the pending-award
        # index full of dead entries until autovacuum comes by; the award job's claim then walked
        # 2M of them (13 ms a claim at 1M players, and a false "award grows with size").
        self.psql("VACUUM ANALYZE")
        return seeded

    def bench_tables(self, rows: int = 1000) -> None:
        """bench_counter: the ceiling views' own table, in the bench database only."""
        self.psql(
            "DROP TABLE IF EXISTS bench_counter; "
            "CREATE TABLE bench_counter (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0); "
            f"INSERT INTO bench_counter (id) SELECT g FROM generate_series(0, {rows - 1}) g;"
        )

    # --- redis (our index only)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(REDIS_URL)

    def redis_reset(self, zset_members: int = 0) -> None:
        r = self.redis()
        r.flushdb()  # only BENCH_REDIS_URL's database index
        if zset_members:
            pipe = r.pipeline(transaction=False)
            for start in range(0, zset_members, 10_000):
                pipe.zadd(
                    "bench:ceiling:zset",
                    {
                        f"player{i:07d}": (i * 7919) % 1_000_003
                        for i in range(start, min(start + 10_000, zset_members))
                    },
                )
                pipe.execute()
        self.manage("rebuild_leaderboard")

    # --- processes

    def _spawn(self, label: str, command: str, env: dict) -> subprocess.Popen:
        log = open(self.logdir / f"{label}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}" if "&&" not in command else command],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append((label, proc))
        self.memory.watch(label, proc.pid)
        return proc

    def web_command(self, workers: int = 4) -> str:
        line = self.procfile["web"]
        line = line.replace("0.0.0.0:", "127.0.0.1:")  # loopback only, whatever the Procfile binds
        return line.replace("${PORT:-8000}", str(PORT)).replace("${WEB_CONCURRENCY:-4}", str(workers))

    def start_web(self, workers: int = 4, **env_extra: str) -> subprocess.Popen:
        env = self.env(PORT=str(PORT), WEB_CONCURRENCY=str(workers), **env_extra)
        proc = self._spawn("web", self.web_command(workers), env)
        self.wait_ready(proc)
        return proc

    def start_ws(self) -> subprocess.Popen:
        """The Procfile's `ws:` line (daphne) on 127.0.0.1:WS_PORT; returns once it answers /healthz."""
        line = self.procfile["ws"].replace("0.0.0.0", "127.0.0.1").replace("${WS_PORT:-8001}", str(WS_PORT))
        proc = self._spawn("ws", line, self.env(WS_PORT=str(WS_PORT)))
        self.wait_ready(proc, port=WS_PORT, label="ws", path="/healthz")
        return proc

    def start_proxy(self, workers: int = 1) -> subprocess.Popen:
        """Debian's nginx with scripts/nginx/skillquest.conf.template (as docker-compose runs it) on
        127.0.0.1:PROXY_PORT in front of web and ws; returns once it answers /readyz through web."""
        # Its own directory under /tmp, not the 0700 log dir: nginx's workers run as nobody when the
        # master is root, and must reach the micro-cache there. Removed on exit with the process.
        prefix = Path(tempfile.mkdtemp(prefix=f"bench-{self.scenario}-nginx-"))
        prefix.chmod(0o755)
        self.cleanup.append(prefix)
        command = render.standalone(
            prefix,
            listen=f"127.0.0.1:{PROXY_PORT}",
            web=f"127.0.0.1:{PORT}",
            ws=f"127.0.0.1:{WS_PORT}",
            static_root=ROOT / "static",
            workers=workers,
        )
        proc = self._spawn("nginx", shlex.join(command), self.env())
        self.wait_ready(proc, port=PROXY_PORT, label="nginx")
        return proc

    def worker_parts(self) -> tuple[str | None, str]:
        """The Procfile's worker: line split into its start-up sweep and its long-running worker."""
        line = self.procfile["worker"]
        if "&&" in line:
            sweep, worker = line.rsplit("&&", 1)
            return sweep.strip(), worker.strip()
        return None, line.strip()

    def start_workers(self, count: int) -> list[subprocess.Popen]:
        _, worker = self.worker_parts()
        return [self._spawn(f"worker{i}", worker, self.env()) for i in range(count)]

    def wait_ready(
        self,
        proc: subprocess.Popen,
        timeout: float = 60,
        port: int = PORT,
        label: str = "web",
        path: str = "/readyz",
    ) -> None:
        """Return once `port` answers 200 on `path`; fail at once if `proc` exits, or after `timeout` s."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{port}{path}"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited with {proc.returncode}; see {self.logdir}/{label}.log")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} not ready after {timeout}s; see {self.logdir}/{label}.log")

    def stop(self, proc: subprocess.Popen, timeout: float = 10) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._forget(proc)

    def _forget(self, proc: subprocess.Popen) -> None:
        self.procs = [(label, p) for label, p in self.procs if p is not proc]
        self.memory.roots = {k: v for k, v in self.memory.roots.items() if v != proc.pid}

    def stop_all(self) -> None:
        for _, proc in list(reversed(self.procs)):
            self.stop(proc)

    # --- HTTP

    def get(self, path: str, token: str | None = None) -> tuple[int, dict | None]:
        request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def self_reported_challenges(self) -> str:
        """Comma-separated ids of published self-reported challenges: a submit with a score grades them."""
        return self.psql(
            "SELECT string_agg(id::text, ',') FROM challenges_challenge "
            "WHERE published AND grading->>'type' = 'self_reported'"
        )

    def tokens_file(self, count: int) -> Path:
        """A temporary file of `user_id token` lines for the wrk Lua scripts (removed on exit)."""
        path = self.logdir / f"tokens-{count}.txt"
        path.write_text("".join(f"{uid} {tok}\n" for uid, tok in self.tokens(count)))
        return path

    def tokens(self, count: int) -> list[tuple[str, str]]:
        """(user id, JWT access token) for `count` load players, minted by simplejwt with our key."""
        code = (
            "from rest_framework_simplejwt.tokens import AccessToken;"
            "from accounts.models import User;"
            f"[print(u.pk, AccessToken.for_user(u)) for u in "
            f"User.objects.filter(username__startswith='load').order_by('username')[:{count}]]"
        )
        _, _, out = self.manage("shell", "-c", code)
        pairs = [
            tuple(parts) for parts in (line.split() for line in out.splitlines())
            if len(parts) == 2 and re.fullmatch(r"[0-9a-f-]{36}", parts[0])
        ]  # fmt: skip
        if len(pairs) < count:
            raise RuntimeError(f"wanted {count} tokens, got {len(pairs)}")
        return pairs  # type: ignore[return-value]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _procfile() -> dict[str, str]:
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        m = re.match(r"^([a-z]+):\s*(.+)$", line.strip())
        if m:
            lines[m.group(1)] = m.group(2)
    return lines


# ---------------------------------------------------------------------------------------------- wrk


def wrk_path() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (bench/README.md)")
    return path


def wrk(
    path: str,
    *,
    script: str = "get.lua",
    seconds: float = 10,
    connections: int = 32,
    threads: int = 2,
    env: dict[str, str] | None = None,
    max_requests: int = 2_000_000,
    port: int = PORT,
) -> dict:
    """Run wrk from its own process against 127.0.0.1 (the web port, or `port`: the proxy's);
    returns the JSON its Lua done() prints."""
    url = f"http://127.0.0.1:{port}{path}"
    run_env = {
        **os.environ,
        "BENCH_LUA_DIR": str(LUA),
        "WRK_MAX_REQUESTS": str(max(1, max_requests // threads)),
        **(env or {}),
    }
    cmd = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
           "--latency", "-s", str(LUA / script), url]  # fmt: skip
    out = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line[8:])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6) if data["duration_us"] else 0.0
            return data
    raise RuntimeError(f"wrk printed no result ({shlex.join(cmd)}):\n{out.stdout}\n{out.stderr}")


def alternating(paths: list[str], rounds: int = 2, ports: list[int] | None = None, **shape) -> list[dict]:
    """wrk each path in turn, `rounds` times, each run `shape["seconds"] / rounds` long; one combined
    result per path (requests over time summed; latency percentiles averaged over the runs).

    On a shared machine the throughput drifts by 10-20 % from one run to the next: alternating the
    runs of a ceiling and of the endpoint compared with it gives both the same drift. With `ports`
    (one per path), each path is asked of its own port: one path straight and through the proxy.
    """
    ports = ports or [PORT] * len(paths)
    seconds = shape.pop("seconds", 10) / rounds
    runs: list[list[dict]] = [[] for _ in paths]
    for round_number in range(rounds):
        # Every other round in reverse: a run right after a busy one is slower (tens of thousands of
        # loopback sockets in TIME_WAIT; the kernel searches longer for a free port), so no path
        # should always come first.
        order = range(len(paths)) if round_number % 2 == 0 else reversed(range(len(paths)))
        for index in order:
            runs[index].append(wrk(paths[index], seconds=seconds, port=ports[index], **shape))
    combined = []
    for parts in runs:
        data = {**parts[-1]}
        data["requests"] = sum(part["requests"] for part in parts)
        data["duration_us"] = sum(part["duration_us"] for part in parts)
        data["rps"] = data["requests"] / (data["duration_us"] / 1e6) if data["duration_us"] else 0.0
        data["errors"] = {k: sum(part["errors"].get(k, 0) for part in parts) for k in parts[0]["errors"]}
        data["counters"] = {
            k: sum(part.get("counters", {}).get(k, 0) for part in parts) for k in parts[0].get("counters", {})
        }
        data["latency_ms"] = {
            k: round(statistics.mean(part["latency_ms"][k] for part in parts), 2)
            for k in parts[0]["latency_ms"]
        }
        combined.append(data)
    return combined


def pin(pid: int, cpus: set[int]) -> None:
    """Keep process `pid` and every process under it on `cpus` (those it forks later inherit it)."""
    root = psutil.Process(pid)
    for process in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.Error):  # a child that exited meanwhile
            process.cpu_affinity(sorted(cpus))


def paced_submits(
    tokens_file: Path,
    challenges: str,
    rate: float,
    seconds: float,
    port: int = PORT,
    *,
    one_call: bool = False,
    cpus: set[int] | None = None,
) -> dict:
    """Start+submit pairs (or one-call submits) at `rate` per second for `seconds` from
    bench/pacer.py's own process (open loop; see why not wrk there) to the web port, or `port`.
    Returns its JSON, with `rps` (HTTP requests/s) added."""
    cmd = [*(["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus else []),
           sys.executable, str(BENCH / "pacer.py"), "--port", str(port), "--rate", str(rate),
           "--seconds", str(seconds), "--tokens", str(tokens_file), "--challenges", challenges,
           *(["--one-call"] if one_call else [])]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("PACERJSON "):
            data = json.loads(line[10:])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            return data
    raise RuntimeError(f"pacer printed no result ({shlex.join(cmd)}):\n{out.stdout}\n{out.stderr}")


def wrk_result(scenario: str, name: str, data: dict, memory_mb: float | None = None, **kw) -> Result:
    # Non-200 answers counted by the Lua scripts (get.lua: "bad"); wrk only counts 4xx/5xx itself.
    errors = sum(data["errors"].values()) + int(data.get("counters", {}).get("bad", 0) or 0)
    return Result(
        scenario=scenario, name=name, throughput=round(data["rps"], 1),
        p50_ms=data["latency_ms"]["p50"], p95_ms=data["latency_ms"]["p95"], p99_ms=data["latency_ms"]["p99"],
        peak_rss_mb=memory_mb, errors=errors, **kw,
    )  # fmt: skip
