"""Parking a transaction mid-write, so that a test can kill a process while it is there.

A trigger on the table waits for an advisory lock that the test holds: the writer's transaction stops
right after its UPDATE (nothing committed yet) until the test releases the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

ADVISORY_KEY = 770_077


def libpq_params() -> dict:
    db = connection.settings_dict
    return {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": db["NAME"]}


@contextmanager
def parked_updates(table: str) -> Iterator[tuple[Callable[[], bool], Callable[[], None]]]:
    """Park every transaction that UPDATEs `table`; yields (parked: is one waiting?, release)."""
    holder = psycopg.connect(**libpq_params(), autocommit=True, application_name="sq-fault-holder")
    holder.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION sq_fault_park() RETURNS trigger AS $$
            BEGIN PERFORM pg_advisory_xact_lock_shared({ADVISORY_KEY}); RETURN NULL; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER sq_fault_park AFTER UPDATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION sq_fault_park();
            """
        )

    def parked() -> bool:
        row = holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            [ADVISORY_KEY],
        ).fetchone()
        assert row is not None  # count(*) always returns a row
        return row[0] > 0

    def release() -> None:
        # Unlock first: dropping the trigger waits for the parked transaction to end.
        holder.execute("SELECT pg_advisory_unlock_all()")
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS sq_fault_park ON {table}")

    try:
        yield parked, release
    finally:
        release()
        holder.close()
