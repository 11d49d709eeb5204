"""The API, award and account suites through a real PgBouncer in transaction pooling mode.

A fixture starts Debian's pgbouncer on a loopback port in front of the test's PostgreSQL, then a
second pytest runs those suites with DATABASE_URL pointing at it: every request, award batch, lock
and transaction goes through a pooler that hands each transaction whichever server connection is
free, as in production behind PgBouncer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from skillquest.tests.helpers import ROOT, free_port, port_open
from skillquest.tests.processes import running

pytestmark = [pytest.mark.serial]
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
SUITES = [
    "challenges/tests/api",
    "progress/tests/awards",
    "progress/tests/api",
    "accounts/tests/emails",
    "skillquest/tests/test_personal_data.py",
]


@pytest.fixture
def pgbouncer(tmp_path_factory):
    assert Path(PGBOUNCER).exists(), "pgbouncer is missing: apt-get install pgbouncer (see .ci/run)"
    db = connection.settings_dict
    port = free_port()
    # pgbouncer refuses to run as root: it drops to the postgres user, who must read its files.
    workdir = tmp_path_factory.mktemp("pgbouncer")
    workdir.chmod(0o755)
    userlist = workdir / "userlist.txt"
    userlist.write_text(f'"{db["USER"]}" "{db["PASSWORD"] or ""}"\n')
    ini = workdir / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {userlist}\n"
        "pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in (userlist, ini):
        path.chmod(0o644)
    command = [PGBOUNCER, str(ini)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    # Its log goes to a file this process opens (the postgres user could not create one here).
    with running(
        command,
        log=workdir / "pgbouncer.log",
        stdout=subprocess.DEVNULL,
        ready=lambda: port_open(port),
        what="pgbouncer to listen",
        seconds=15,
    ):
        yield port


def test_the_api_award_and_account_suites_pass_through_pgbouncer_in_transaction_mode(pgbouncer):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{pgbouncer}/skillquest_pgbouncer",
        "TEST_DATABASE_NAME": "test_skillquest_pgbouncer",
        "DISABLE_SERVER_SIDE_CURSORS": "true",
        # PgBouncer 1.18 (Debian 12) cannot track prepared statements in transaction mode.
        "DATABASE_PREPARED_STATEMENTS": "false",
        # Its own Redis database, far from the indexes the parallel workers of this run use.
        "REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "--create-db", "-p", "no:cacheprovider",
         "-m", "not browser and not serial", *SUITES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
