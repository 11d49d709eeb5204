"""skillquest.db.postgresql: a request reuses a quiet connection without a `SELECT 1`, and a
connection the server ended or wrote to is checked (and replaced) before the request's first query.

Real PostgreSQL, real sockets: the server's side is driven from a second connection, and what the
web process sent is read from libpq's own protocol trace."""

from __future__ import annotations

import tempfile

import psycopg
import pytest
from django.db import close_old_connections, connection

from skillquest.db.postgresql.base import quiet
from skillquest.tests.helpers import wait_until

# Autocommit between requests, as in production (a test transaction would always get the full check).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def young_connection():
    """A plain (unencrypted) connection opened by the test.

    Young: one older than CONN_MAX_AGE would be replaced at the request's start whatever its health
    (the suite's connection can be minutes old by now). Plain: a TLS connection is never taken as
    quiet (its socket carries TLS records, not only the server's messages), and libpq's default
    `sslmode=prefer` takes TLS wherever the server offers it, as a fresh install of Debian's
    PostgreSQL package does (`ssl = on` with its snakeoil certificate; CI's container).
    """
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    options["sslmode"] = "disable"
    connection.close()
    connection.ensure_connection()
    yield
    options.clear()
    options.update(saved)
    connection.close()


def _admin() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"],
        autocommit=True,
    )  # fmt: skip


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _next_request_sends(first_query: str) -> list[str]:
    """The statements the connection sends from a request's start through its first query, read off
    libpq's trace (its messages to the server: `Query` or `Parse`)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        try:
            close_old_connections()  # what `request_started` does
            with connection.cursor() as cursor:
                cursor.execute(first_query)
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = [line.split("\t") for line in trace.read().decode().splitlines()]
    return [line[4].strip() for line in lines if line[1] == "F" and line[3] in {"Query", "Parse"}]


def _readable() -> bool:
    return not quiet(connection.connection)


def test_a_quiet_connection_is_reused_without_a_round_trip():
    pid = _backend_pid()
    sent = _next_request_sends("SELECT 42")
    assert sent == ['"SELECT 42"']
    assert _backend_pid() == pid


def test_a_connection_the_server_ended_is_replaced_before_the_first_query():
    pid = _backend_pid()
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's "terminating connection" message and its close make the idle socket readable.
    wait_until(_readable, what="the ended connection's socket to become readable", seconds=5)
    close_old_connections()
    assert _backend_pid() != pid  # no error: the request's first query ran on a new connection


def test_a_connection_with_something_to_read_gets_the_servers_answer_and_is_kept_when_healthy():
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN skillquest_health_check_test")
    with _admin() as admin:
        admin.execute("NOTIFY skillquest_health_check_test")
    wait_until(_readable, what="the notification to arrive on the idle socket", seconds=5)
    sent = _next_request_sends("SELECT 42")
    assert sent == ['"SELECT 1"', '"SELECT 42"']  # Django's own check: the socket was not quiet
    assert _backend_pid() == pid  # and the connection passed it


def test_a_connection_inside_a_transaction_is_not_taken_as_quiet():
    assert quiet(connection.connection)
    with connection.cursor() as cursor:
        connection.set_autocommit(False)
        try:
            cursor.execute("SELECT 1")
            assert not quiet(connection.connection)
        finally:
            connection.rollback()
            connection.set_autocommit(True)
    assert quiet(connection.connection)
