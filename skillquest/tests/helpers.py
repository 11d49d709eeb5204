"""Assertions shared by the apps' tests (shared fixtures are in the root conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from django.db import connection, connections
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def run_in_own_loop(scenario: Callable[[], Awaitable[T]], *, timeout: float = 120) -> T:
    """Run an async scenario on a new event loop in a thread of its own and return its result.

    Not in the test's thread: once a browser test has run in this xdist worker, Playwright's sync API
    keeps an event loop running there, and asyncio.run and async_to_sync refuse to start under one.
    The scenario's database calls (`sync_to_async`) are made from that thread, on connections of
    its own, closed when it ends: the tests that use it are transactional.
    """
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, async_to_sync(_awaited)(scenario)))
        except BaseException as error:
            outcome.append((False, error))
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the scenario did not finish"
    finished, value = outcome[0]
    if not finished:
        raise value
    return value


async def _awaited(scenario: Callable[[], Awaitable[T]]) -> T:
    return await scenario()


def settings_in_a_fresh_process(env: dict[str, str], expression: str) -> Any:
    """`expression` (over the settings, named `s`) as a new interpreter with `env` reads it, via JSON.

    Settings are read once at import, so how they follow the environment is seen only in a new process.
    """
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({expression}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "skillquest.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def wait_until(
    predicate: Callable[[], Any],
    *,
    what: str,
    seconds: float = 20.0,
    processes: Iterable[subprocess.Popen] = (),
    logs: Callable[[], object] | None = None,
) -> Any:
    """Poll `predicate` until it returns something truthy, and return that.

    Fails as soon as one of `processes` exits (it will never become ready) or when `seconds` run out,
    naming `what` and showing `logs()` if given. The one readiness wait of the suite: servers,
    workers and the conditions tests wait on.
    """
    processes = list(processes)
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        exited = [process.args for process in processes if process.poll() is not None]
        if exited or time.monotonic() > deadline:
            problem = f"{exited} exited" if exited else f"timed out after {seconds} s"
            raise AssertionError(f"{problem} while waiting for {what}" + (f"\n{logs()}" if logs else ""))
        time.sleep(0.05)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on `port`."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


_ports_given: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts), and not one given before
    in this process: a test takes several before it starts their servers (a sentinel group, nginx's
    stack), and the kernel may well offer the same free port twice."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def answers_ok(url: str) -> bool:
    """Whether `url` answers 200 now (False on a refused connection, a timeout or another status)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:  # URLError and HTTPError are OSErrors
        return False


def run_together(tasks: list[Callable[[], Any]]) -> list[Any]:
    """Run every task in its own thread, released at the same instant; re-raise any thread's error."""
    barrier = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)
    errors: list[BaseException] = []

    def run(index: int, task: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = task()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; do not leak it

    threads = [threading.Thread(target=run, args=(i, task)) for i, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- PostgreSQL clusters of a test's own (skillquest/tests/test_replica.py) ---------------------------
def _pg_bin() -> Path:
    """The newest server binaries Debian/Ubuntu installed (15 here, 16 on GitHub's runners), else PATH's."""
    installed = Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    newest = max(
        installed, key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0, default=None
    )
    on_path = shutil.which("pg_ctl")
    return (
        newest.parent if newest else Path(on_path).parent if on_path else Path("/usr/lib/postgresql/15/bin")
    )


PG_BIN = _pg_bin()


def as_postgres(*command: str | Path) -> list[str]:
    """`command` run as the `postgres` OS user when we are root: PostgreSQL refuses to run as root."""
    args = [str(part) for part in command]
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def pg_ctl(data_dir: Path, action: str, *options: str) -> None:
    """`pg_ctl start|stop` on a test's own cluster, waiting until it is done; its log beside the data."""
    log = data_dir.parent / f"{data_dir.name}.log"
    result = subprocess.run(
        as_postgres(PG_BIN / "pg_ctl", "-D", data_dir, "-l", log, "-w", "-t", "60", *options, action),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pg_ctl {action} {data_dir}: {result.stderr}\n{log.read_text()[-3000:]}"
