"""Read replicas on real processes: a primary and a streaming replica of it, made by `pg_basebackup -R`.

The fixture makes a cluster of its own (initdb) rather than a replica of the suite's: the local
server's pg_hba.conf has no `replication` line (and the system's configuration is not ours to edit),
while initdb's allows replication from 127.0.0.1 for the cluster's own user. It migrates a database
there, takes the base backup once the schema exists, starts the replica on a port of its own, and a
second pytest runs skillquest/tests/replica_scenarios.py with DATABASE_URL on that primary and
DATABASE_REPLICA_URLS on the replica: the router, the views and the award job as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from skillquest.tests.helpers import PG_BIN, ROOT, as_postgres, free_port, pg_ctl, wait_until

pytestmark = [pytest.mark.serial]
DATABASE = "test_skillquest_replica"


@dataclass(frozen=True)
class Replicated:
    primary_url: str
    replica_url: str
    replica_dir: Path


def psql(port: int, sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        [PG_BIN / "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
         "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")  # one pair for the module: it takes ~15 s to make
def replicated() -> Iterator[Replicated]:
    assert (PG_BIN / "initdb").exists(), f"PostgreSQL's server binaries are missing ({PG_BIN})"
    # Not under pytest's tmp_path: its base directory is private to root, and the clusters run as postgres.
    workdir = Path(tempfile.mkdtemp(prefix="skillquest-replica-"))
    workdir.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    primary_dir, replica_dir = workdir / "primary", workdir / "replica"
    primary_port, replica_port = free_port(), free_port()
    started: list[Path] = []
    try:
        subprocess.run(
            as_postgres(PG_BIN / "initdb", "-D", primary_dir, "-U", "postgres", "-A", "trust", "--no-sync"),
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        with (primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {primary_port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{workdir}'\n"
                "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
                "wal_level = replica\nmax_wal_senders = 4\n"
            )
        pg_ctl(primary_dir, "start")
        started.append(primary_dir)
        psql(primary_port, f"CREATE DATABASE {DATABASE}")
        primary_url = f"postgres://postgres@127.0.0.1:{primary_port}/{DATABASE}"
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": primary_url}, capture_output=True, text=True,
            check=False, timeout=600,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        # After the schema exists, so the replica starts with it; -R writes primary_conninfo and
        # standby.signal, so it starts as a hot standby streaming from the primary.
        subprocess.run(
            as_postgres(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port),
                        "-U", "postgres", "-D", replica_dir, "-R", "-X", "stream", "--checkpoint=fast",
                        "--no-sync"),
            capture_output=True, check=True, timeout=300,
        )  # fmt: skip
        with (replica_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {replica_port}\nhot_standby = on\n")
        pg_ctl(replica_dir, "start")
        started.append(replica_dir)
        wait_until(
            lambda: psql(replica_port, "SELECT count(*) FROM pg_stat_wal_receiver") == "1",
            what="the replica streaming from its primary",
        )
        yield Replicated(
            primary_url=primary_url,
            replica_url=f"postgres://postgres@127.0.0.1:{replica_port}/{DATABASE}",
            replica_dir=replica_dir,
        )
    finally:
        for data_dir in reversed(started):
            pg_ctl(data_dir, "stop", "-m", "immediate")
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_fresh_replica_is_a_streaming_hot_standby_of_the_primary(replicated):
    replica_port = int(replicated.replica_url.rsplit(":", 1)[1].split("/")[0])
    assert psql(replica_port, "SELECT pg_is_in_recovery()") == "t"
    assert psql(replica_port, "SELECT count(*) FROM django_migrations", DATABASE) != "0"


def test_the_router_views_and_award_job_against_a_real_replica(replicated):
    env = {
        # Not an xdist worker's: its plugin would move REDIS_URL up by the worker's number once more.
        **{name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST")},
        "DATABASE_URL": replicated.primary_url,
        "TEST_DATABASE_NAME": DATABASE,  # the migrated database, which the replica holds too
        "DATABASE_REPLICA_URLS": replicated.replica_url,
        "REPLICA_TEST_DATA_DIR": str(replicated.replica_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "--reuse-db", "-p", "no:cacheprovider",
         "skillquest/tests/replica_scenarios.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
