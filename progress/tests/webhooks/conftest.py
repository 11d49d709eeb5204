"""Fixtures of the webhook tests: the real receiver process (receiver.py) and real RQ workers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from skillquest.tests.helpers import port_open, wait_until
from skillquest.tests.processes import start_process, stop_processes

ROOT = Path(__file__).resolve().parents[3]
RECEIVER = Path(__file__).with_name("receiver.py")
# Inside the range of ports this suite's webhook tests own.
RECEIVER_PORT = int(os.environ.get("WEBHOOK_RECEIVER_PORT", "8431"))
WORKER_APP = "sq-webhook-worker"


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hook"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        assert not port_open(self.port), f"port {self.port} is taken"
        self.process = start_process(
            [sys.executable, str(RECEIVER), str(self.port)],
            cwd=ROOT,
            ready=lambda: port_open(self.port),
            what="the webhook receiver to listen",
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            stop_processes(self.process)

    def control(self, **settings) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_control", data=json.dumps(settings).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_state", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture
def receiver():
    server = Receiver(RECEIVER_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_networks(settings):
    """Endpoints on loopback may be registered (the receiver's), as tests and local demos need."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    # What this process sends must arrive: a receiver slow on a loaded machine is not a failure here
    # (timeouts are the worker's, WEBHOOK_TIMEOUT_SECONDS in `worker_env`).
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.WEBHOOK_RETRY_SCHEDULE = [0.2] * 12


def worker_env(**extra: str) -> dict[str, str]:
    """A real worker's environment: the test database and Redis, short webhook timeouts and retries."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONUNBUFFERED": "1",
        "PGAPPNAME": WORKER_APP,
        "AWARD_COALESCE_SECONDS": "0",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "0.5",
        "WEBHOOK_RETRY_SCHEDULE": ",".join(["0.2"] * 30),  # retries outlast every failing phase
        **extra,
    }


def procfile_worker(*, sweep: bool = False) -> str:
    """The Procfile's worker line (with or without its start-up sweep), run with this interpreter."""
    line = next(
        line.split(":", 1)[1].strip()
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.startswith("worker:")
    )
    line = line.replace("python ", f"{sys.executable} ")
    return line if sweep else line.split("&& ", 1)[1]


def start_worker(*, sweep: bool = False, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", "-c", f"exec {procfile_worker(sweep=False)}" if not sweep else procfile_worker(sweep=True)],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    """End the worker's process group, even when the worker itself is already dead: the scheduler
    it forked (`--with-scheduler`) outlives a SIGKILLed worker in the same group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, sig)
        try:
            worker.wait(15)
            wait_until(
                lambda: not _group_alive(worker.pid), what="the worker's process group to end", seconds=10
            )
            return
        except (subprocess.TimeoutExpired, AssertionError):
            continue


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
