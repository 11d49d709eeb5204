"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium (installed by .ci/run
with apt) and axe-core comes from the npm registry (package.json, `npm ci`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from progress.tests.browser.support import AXE_JS
from skillquest.tests.helpers import port_open, wait_until

# Playwright's sync API keeps an event loop running in the test thread; the ORM calls the tests make
# between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (see .ci/run)."
    assert AXE_JS.exists(), f"{AXE_JS} is missing: run `npm ci` (see .ci/run)."
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def page(page):
    page.set_default_timeout(15_000)
    return page


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    database_url = (
        f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST']}:{db['PORT'] or 5432}"
    )
    return {
        **os.environ,
        "DATABASE_URL": f"{database_url}/{db['NAME']}",  # the test database the live server uses
        "REDIS_URL": settings.REDIS_URL,
        "CONN_MAX_AGE": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def rq_worker(live_server):
    """A real RQ worker process on the test database and Redis index; call the fixture to start it.

    Started on demand so a test can first see the page say "XP pending", then watch the job run.
    """
    assert settings.REDIS_URL, "Browser tests need REDIS_URL: the award must go through the queue."
    processes: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "--worker-class", "rq.worker.SimpleWorker", "default"],
            cwd=settings.BASE_DIR,
            env=_worker_env(),
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The `ws` process of the browser tests: its own loopback port, overridable like the fault tests' ports.
LIVE_WS_PORT = int(os.environ.get("LIVE_WS_PORT", "8165"))


def _procfile_ws_command() -> list[str]:
    """The Procfile's `ws:` line (port: WS_PORT), on loopback, with this interpreter's daphne."""
    line = next(
        line.split(":", 1)[1].strip()
        for line in (settings.BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith("ws:")
    )
    daphne = str(Path(sys.executable).with_name("daphne"))
    line = line.replace("daphne ", f"{daphne} ", 1).replace("0.0.0.0", "127.0.0.1")
    return ["bash", "-c", f"exec {line}"]


class WsProcess:
    """The Procfile's `ws:` process (daphne) on the test database and Redis; pages connect to it."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert not port_open(self.port), f"port {self.port} is taken (set LIVE_WS_PORT)"
        env = {
            **_worker_env(),
            "WS_PORT": str(self.port),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DEBUG": "false",
            "LOG_LEVEL": "INFO",  # its connects and refusals, for a failing test
        }
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                _procfile_ws_command(), cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(
            lambda: port_open(self.port),
            what="daphne to listen",
            processes=[self.process],
            logs=self.log.read_text,
        )

    def kill(self) -> None:
        """SIGKILL: no close frame, no clean-up, as when a host dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        wait_until(lambda: not port_open(self.port), what="daphne to be gone")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def ws_process(live_server, settings, tmp_path):
    """A started `ws` process; the live server's pages connect to it (WS_PUBLIC_URL), as in production
    where gunicorn serves pages and daphne the sockets. `localhost`, as the live server: the browser's
    session cookie for that host goes to every port of it."""
    ws = WsProcess(LIVE_WS_PORT, tmp_path / "ws.log")
    settings.WS_PUBLIC_URL = f"ws://localhost:{LIVE_WS_PORT}"
    ws.start()
    yield ws
    ws.stop()
