"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium (installed by .ci/run
with apt) and axe-core comes from the npm registry (package.json, `npm ci`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from progress.tests.browser.support import AXE_JS

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
