"""PostgreSQL, as django-prometheus wraps it, with a health check that costs no round trip when the
connection is quiet.

Django's health check (`CONN_HEALTH_CHECKS`) runs `SELECT 1` before the first query of every request
that reuses a persistent connection: one more round trip per request, for every view. On a loaded
machine that round trip waits for the server to be scheduled like any other, and it was 14 % of the
web workers' wall time at 200 submits/s (bench/README.md, issue 15).

A connection the server has ended is one it has written to: PostgreSQL sends an error message
(`terminating connection due to administrator command`, an idle-session timeout, a shutdown) and
closes, and a pooler or a peer that goes away closes or resets. Each makes the idle socket readable.
So before the first query of a request an idle, healthy-looking connection whose socket has nothing
to read is taken as usable, without asking the server; anything else (data or an error waiting, a
transaction open, a TLS connection, whose library may hold decrypted bytes the socket no longer
shows) gets Django's `SELECT 1` as before. The same liveness check without a round trip is what
go-sql-driver/mysql does before reusing a connection (`checkConnLiveness`). Neither check catches a
host that vanished without a word; the next query fails as it would have failed right after a
`SELECT 1`.
"""

from __future__ import annotations

import select

from django_prometheus.db.backends.postgresql import base
from psycopg import pq

_WAITING = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


def quiet(connection) -> bool:
    """Whether a psycopg connection is open, idle outside a transaction, unencrypted, and nothing has
    arrived on its socket since its last answer."""
    pgconn = connection.pgconn
    if connection.closed or pgconn.status != pq.ConnStatus.OK:
        return False
    if pgconn.transaction_status != pq.TransactionStatus.IDLE or pgconn.ssl_in_use:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, _WAITING)
    return not poller.poll(0)


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_done: bool  # Django's, set in BaseDatabaseWrapper.__init__ (untyped there)

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
