"""Rate limits: fixed-window counters in Django's cache (Redis when REDIS_URL is set).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (THROTTLE_* variables). They are read
on every request rather than at import time, so `settings` overrides in tests take effect.
The client IP is DRF's `get_ident`, which trusts X-Forwarded-For only as far as NUM_PROXIES says.

How requests are counted: DRF's SimpleRateThrottle keeps a pickled list of request timestamps per
key and reads and rewrites it on every request (a GET and a SET: two Redis round trips per throttle,
two throttles per request, and a value as long as the rate). These throttles keep DRF's rates,
scopes, cache keys and 429 + Retry-After, but count in a fixed window that opens with a key's first
request and lasts the rate's period: one atomic Lua call (one round trip) per throttle, or for all of
a view's throttles at once with `ThrottlesInOneCall`. As with DRF, a refused request uses no budget
(with `ThrottlesInOneCall`, on none of its counters); it is told to retry when the window ends.
Like any fixed window, a client can fit up to twice the rate across a window boundary, never more.

This module holds the counting and the project-wide limits (anonymous, per player, and the players'
attempt starts and submissions); an app keys its own requests in its own module on top of
`FixedWindowThrottle` (login and registration: accounts/throttles.py).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from skillquest.redis_client import cache_client

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _APIView = APIView
else:
    # Not imported at run time: rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES).
    _APIView = object

logger = logging.getLogger("skillquest.throttling")

# KEYS = counters, ARGV = limit and window in ms for each key in turn. Returns, per key, {allowed
# 0/1, ms until its window ends}. Counts only if every key allows: a refused request uses no
# budget anywhere. A value that is not a counter with an expiry (e.g. a DRF history list left by an
# older version) is replaced by a fresh window.
WINDOW_HITS_LUA = """
local counts, ttls, refused = {}, {}, false
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  local ttl = redis.call('PTTL', key)
  if count == nil or ttl == -1 then
    redis.call('DEL', key)
    count = 0
    ttl = -2
  end
  counts[i] = count
  ttls[i] = ttl
  if count >= tonumber(ARGV[2 * i - 1]) then
    refused = true
  end
end
local result = {}
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i])
  local allowed = counts[i] < tonumber(ARGV[2 * i - 1]) and 1 or 0
  if not refused then
    redis.call('INCR', key)
    if ttls[i] < 0 then
      redis.call('PEXPIRE', key, window)
      ttls[i] = window
    end
  end
  result[2 * i - 1] = allowed
  result[2 * i] = ttls[i] > 0 and ttls[i] or window
end
return result
"""
_window_hits_script = None

Window = tuple[str, int, int]  # cache key, limit, duration in seconds


def window_hits(windows: list[Window]) -> list[tuple[bool, float]]:
    """Count one request in each window unless one of them already holds its limit.

    Returns, per window, (allowed, seconds until the window ends). All windows are read and
    counted in one atomic Redis call (one round trip), whatever their number.
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        keys = [backend.make_and_validate_key(key) for key, _, _ in windows]
        client = cache_client(backend)
        global _window_hits_script
        if _window_hits_script is None:
            _window_hits_script = client.register_script(WINDOW_HITS_LUA)  # EVALSHA, loaded on first use
        args = [value for _, limit, duration in windows for value in (limit, duration * 1000)]
        flat = _window_hits_script(keys=keys, args=args, client=client)
        return [(bool(flat[2 * i]), flat[2 * i + 1] / 1000) for i in range(len(windows))]
    # A process-local cache (no REDIS_URL: the quickstart): the window's end is stored with the count.
    now = time.time()
    state = []
    for key, limit, duration in windows:
        count, ends = backend.get(key) or (0, now + duration)
        if ends <= now:
            count, ends = 0, now + duration
        state.append((key, count, ends, count < limit))
    if all(allowed for *_, allowed in state):
        for key, count, ends, _ in state:
            backend.set(key, (count + 1, ends), math.ceil(ends - now))
    return [(allowed, ends - now) for _, _, ends, allowed in state]


class FixedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle (rate parsing, keys, idents) counting with `window_hits`."""

    # DRF's format behind a hash tag: one request's counters (per player and per scope, per address
    # and per account on a login) are read and counted by one script, which a Redis Cluster runs
    # only on keys of one slot, so every counter shares it. Counters from before the tag expire
    # with their window.
    cache_format = "{throttle}_%(scope)s_%(ident)s"

    # Set by SimpleRateThrottle.__init__ from the rate (None without one: `window` checks the rate).
    num_requests: int
    duration: int
    # Seconds until the window ends, set by `check_together` before `wait` is asked.
    remaining: float

    # The attribute DRF's SimpleRateThrottle reads (never writes), as a property so that a settings
    # override applies; the stub declares a writable attribute, which a read-only property is not.
    @property
    def THROTTLE_RATES(self):  # type: ignore[override]
        return api_settings.DEFAULT_THROTTLE_RATES

    def window(self, request, view) -> Window | None:
        """This request's counter, or None when this throttle does not apply to it."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return None
        return self.key, self.num_requests, self.duration

    def allow_request(self, request, view):
        return check_together([self], request, view)[0] is None

    def wait(self):
        """Seconds until the window ends (DRF sends them, rounded up, as Retry-After)."""
        return max(self.remaining, 1)


def check_together(throttles: list[FixedWindowThrottle], request, view) -> list[float | None]:
    """Check and count `throttles` in one round trip; per throttle, None if it allows the request,
    else the seconds to wait."""
    counted = [(throttle, window) for throttle in throttles if (window := throttle.window(request, view))]
    waits: list[float | None] = [None] * len(throttles)
    if not counted:
        return waits
    # Fail open: while Redis (the counters' store) is down, players keep submitting and the
    # outage shows on /readyz, rather than every request becoming a 500 (docs/reliability.md).
    try:
        results = window_hits([window for _, window in counted])
    except RedisError:
        logger.warning("throttle_unavailable", extra={"scopes": [t.scope for t, _ in counted]}, exc_info=True)
        return waits
    position = {id(throttle): index for index, throttle in enumerate(throttles)}
    for (throttle, _), (allowed, remaining) in zip(counted, results, strict=True):
        throttle.remaining = remaining
        if not allowed:
            waits[position[id(throttle)]] = throttle.wait()
    return waits


class ThrottlesInOneCall(_APIView):
    """APIView mixin: the view's fixed-window throttles are checked and counted in one Redis call.

    DRF calls each throttle in turn (one round trip each: two or three per request on the
    endpoints players hit most). Other throttle classes are still asked one by one.
    """

    def check_throttles(self, request):
        throttles = self.get_throttles()
        windows = [throttle for throttle in throttles if isinstance(throttle, FixedWindowThrottle)]
        waits: list[float | None] = [
            wait for wait in check_together(windows, request, self) if wait is not None
        ]
        refused = bool(waits)
        for throttle in throttles:
            if not isinstance(throttle, FixedWindowThrottle) and not throttle.allow_request(request, self):
                refused = True
                waits.append(throttle.wait())  # may be None: DRF then sends no Retry-After
        if refused:
            longest = max((wait for wait in waits if wait is not None), default=None)
            # DRF's stub says float; APIView.throttled hands None on to Throttled (then no Retry-After).
            self.throttled(request, longest)  # type: ignore[arg-type]


def api_key_ident(request) -> str | None:
    """The API key a request was made with (challenges.ingest), by its public prefix; None without one.

    Duck-typed: this module is imported while DRF itself loads, before any model can be.
    """
    return getattr(getattr(request, "auth", None), "throttle_ident", None)


class AnonThrottle(FixedWindowThrottle, throttling.AnonRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        # A request with an API key is counted by the key (ApiKeyThrottle), not by its address.
        return None if api_key_ident(request) else super().get_cache_key(request, view)


class UserThrottle(FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view):
        return None if api_key_ident(request) else super().get_cache_key(request, view)


class ApiKeyThrottle(FixedWindowThrottle):
    """Every request made with an API key, per key (THROTTLE_INGEST), whatever it calls."""

    scope = "ingest"

    def get_cache_key(self, request, view):
        ident = api_key_ident(request)
        return None if ident is None else self.cache_format % {"scope": self.scope, "ident": ident}


class AttemptStartThrottle(FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "start"


class AttemptSubmitThrottle(FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "submit"


class EventThrottle(FixedWindowThrottle):
    """A limit on something that is not a DRF request (a WebSocket connect), counted like the rest.

    Keyed by a caller-given ident (e.g. the player's id) under the scope's rate; fails open like the
    views' limits when Redis is down.
    """

    def __init__(self, scope: str, ident: str) -> None:
        self.scope = scope
        self.ident = ident
        super().__init__()

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def hit(self) -> float | None:
        """Count one event: None if the limit allows it, else the seconds until the window ends."""
        return check_together([self], None, None)[0]
