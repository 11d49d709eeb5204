"""Tickets: how an API client, which has a JWT but no session cookie, opens `/ws/live/`.

`POST /api/v1/live/ticket` gives a random ticket; the client connects to `/ws/live/?ticket=...`
within `TICKET_SECONDS`. A ticket works once (redeeming is an atomic get-and-delete), for the player
it was issued to. It is the only secret that ever travels in a URL, which is why it is worth nothing
once used or 30 seconds old; the JWT itself never goes there. The cache keeps only its hash.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from skillquest.errors import ServiceUnavailable
from skillquest.redis_client import cache_client

TICKET_SECONDS = 30
# Without Redis (the quickstart) the cache is this process's memory: a lock makes get-and-delete one step.
_local_redeem = threading.Lock()


def _key(ticket: str) -> str:
    return "skillquest:live:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_in: int  # seconds


def ticket_issue(*, user_id: uuid.UUID) -> Ticket:
    """A new ticket for the player, valid once for `TICKET_SECONDS`. ServiceUnavailable if Redis is down."""
    ticket = secrets.token_urlsafe(32)
    backend = caches[DEFAULT_CACHE_ALIAS]
    try:
        if isinstance(backend, RedisCache):
            key = backend.make_and_validate_key(_key(ticket))
            cache_client(backend).set(key, str(user_id), ex=TICKET_SECONDS)
        else:
            backend.set(_key(ticket), str(user_id), TICKET_SECONDS)
    except RedisError:
        raise ServiceUnavailable("Live updates are unavailable; try again shortly.", code="live_unavailable")
    return Ticket(ticket=ticket, expires_in=TICKET_SECONDS)


def ticket_redeem(ticket: str) -> uuid.UUID | None:
    """The player the ticket was issued to, or None (unknown, used or expired); it is used up either way.

    Two sockets racing with one ticket: GETDEL hands the value to exactly one of them. Raises
    RedisError if Redis is down (the socket is then refused).
    """
    if not ticket or len(ticket) > 100:
        return None
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        value = cache_client(backend).getdel(backend.make_and_validate_key(_key(ticket)))
        user_id = value.decode() if isinstance(value, bytes) else value
    else:
        with _local_redeem:
            user_id = backend.get(_key(ticket))
            backend.delete(_key(ticket))
    return uuid.UUID(user_id) if user_id else None
