"""Who may listen on `/ws/live/`: a page of ours with its session cookie, or an API client's ticket.

The rules, in order:
1. An `Origin` header, when there is one, must be one of ours: a host in ALLOWED_HOSTS or an origin
   in CSRF_TRUSTED_ORIGINS. Browsers always send it, so a page elsewhere cannot open a socket with a
   player's cookie (cross-site WebSocket hijacking).
2. A `ticket` in the query string names the player (`tickets.ticket_redeem`: once, 30 s). Without
   one, the session cookie does, checked as Django checks it for a page (`auth.get_user`: a signed-out
   or "signed out everywhere" session is anonymous) — and only with an allowed Origin, since a
   cookie without one did not come from a page.
3. At most THROTTLE_LIVE_CONNECT connects per player.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import auth
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain
from redis.exceptions import RedisError

from accounts import selectors as accounts
from progress.live.tickets import ticket_redeem
from skillquest.throttling import EventThrottle

logger = logging.getLogger("skillquest.live")

CONNECT_SCOPE = "live_connect"


@dataclass(frozen=True)
class Admission:
    user_id: uuid.UUID | None  # None: refused
    refused: str = ""  # why, for the log: origin, ticket, no_origin, anonymous, unavailable, throttled
    retry_after: float | None = None  # throttled: seconds until the player may connect again

    @property
    def admitted(self) -> bool:
        return self.user_id is not None and not self.refused


def admit(*, headers: Iterable[tuple[bytes, bytes]], query_string: bytes) -> Admission:
    """Decide who the socket with these handshake headers and query string is (synchronous: DB, cache)."""
    header = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}
    origin = header.get("origin")
    if origin is not None and not origin_allowed(origin):
        return Admission(None, "origin")
    tickets = parse_qs(query_string.decode("latin-1")).get("ticket")
    if tickets:
        try:
            user_id = ticket_redeem(tickets[0])
        except RedisError:
            logger.warning("live_ticket_unavailable", exc_info=True)
            return Admission(None, "unavailable")
        player = accounts.user_by_id(user_id=user_id) if user_id else None
        if player is None or not player.is_active:
            return Admission(None, "ticket")
    elif origin is None:
        return Admission(None, "no_origin")
    else:
        player = session_user(header.get("cookie", ""))
        if player is None:
            return Admission(None, "anonymous")
    wait = EventThrottle(CONNECT_SCOPE, str(player.pk)).hit()
    if wait is not None:
        return Admission(player.pk, "throttled", retry_after=wait)
    return Admission(player.pk)


def origin_allowed(origin: str) -> bool:
    """Whether a page at `origin` is ours: its host in ALLOWED_HOSTS, or it is in CSRF_TRUSTED_ORIGINS."""
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    domain, _ = split_domain_port(parts.netloc)
    # Django's own defaults for an empty ALLOWED_HOSTS with DEBUG on (HttpRequest.get_host).
    allowed_hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if domain and validate_host(domain, allowed_hosts):
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if trusted == origin:
            return True
        pattern = urlsplit(trusted)  # https://*.example.com, as CsrfViewMiddleware reads it
        wildcard = pattern.netloc[pattern.netloc.find("*") + 1 :] if "*" in pattern.netloc else ""
        if wildcard and pattern.scheme == parts.scheme and is_same_domain(parts.netloc, wildcard):
            return True
    return False


def session_user(cookie_header: str) -> Any:
    """The signed-in player of the session cookie, or None: Django's own checks for a page request."""
    session_key = parse_cookie(cookie_header).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    # auth.get_user reads nothing of the request but its session.
    user = auth.get_user(cast(Any, SimpleNamespace(session=session)))
    return user if user.is_authenticated else None
