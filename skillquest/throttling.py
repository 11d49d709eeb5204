"""Rate limits: fixed-window counters in Django's cache (Redis when REDIS_URL is set).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (THROTTLE_* variables). They are read
on every request rather than at import time, so `settings` overrides in tests take effect.
The client IP is DRF's `get_ident`, which trusts X-Forwarded-For only as far as NUM_PROXIES says.

How requests are counted: DRF's SimpleRateThrottle keeps a pickled list of request timestamps per
key and reads and rewrites it on every request (a GET and a SET: two Redis round trips per throttle,
two throttles per request, and a value as long as the rate). These throttles keep DRF's rates,
scopes, cache keys and 429 + Retry-After, but count in a fixed window that opens with a key's first
request and lasts the rate's period: one atomic Lua call per throttle (one round trip). As with DRF,
a refused request uses no budget; it is told to retry when the window ends. Like any fixed window,
a client can fit up to twice the rate across a window boundary, never more.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from accounts.selectors import user_id_for_login

logger = logging.getLogger("skillquest.throttling")

# KEYS[1] = counter, ARGV = limit, window in ms. Returns {allowed 0/1, ms until the window ends}.
# A value that is not a counter with an expiry (e.g. a DRF history list left by an older version)
# is replaced by a fresh window.
WINDOW_HIT_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if count == nil or ttl == -1 then
  redis.call('DEL', KEYS[1])
  count = 0
  ttl = -2
end
if count >= limit then
  return {0, ttl}
end
redis.call('INCR', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {1, ttl}
"""
_window_hit_script = None


def window_hit(key: str, limit: int, duration: int) -> tuple[bool, float]:
    """Count one request under `key` unless `limit` are already counted in the current window.

    Returns (allowed, seconds until the window ends).
    """
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        redis_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(redis_key, write=True)
        global _window_hit_script
        if _window_hit_script is None:
            _window_hit_script = client.register_script(WINDOW_HIT_LUA)  # EVALSHA, loaded on first use
        allowed, ttl_ms = _window_hit_script(keys=[redis_key], args=[limit, duration * 1000], client=client)
        return bool(allowed), (ttl_ms / 1000 if ttl_ms > 0 else duration)
    # A process-local cache (no REDIS_URL: the quickstart): the window's end is stored with the count.
    now = time.time()
    count, ends = backend.get(key) or (0, now + duration)
    if ends <= now:
        count, ends = 0, now + duration
    if count >= limit:
        return False, ends - now
    backend.set(key, (count + 1, ends), math.ceil(ends - now))
    return True, ends - now


class _FixedWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle (rate parsing, keys, idents) counting with `window_hit`."""

    @property
    def THROTTLE_RATES(self):  # the attribute name DRF's SimpleRateThrottle reads
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # Fail open: while Redis (the counters' store) is down, players keep submitting and the
        # outage shows on /readyz, rather than every request becoming a 500 (docs/reliability.md).
        try:
            allowed, self.remaining = window_hit(self.key, self.num_requests, self.duration)
        except RedisError:
            logger.warning("throttle_unavailable", extra={"scope": self.scope}, exc_info=True)
            return True
        return allowed

    def wait(self):
        """Seconds until the window ends (DRF sends them, rounded up, as Retry-After)."""
        return max(self.remaining, 1)


class AnonThrottle(_FixedWindowThrottle, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(_FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "user"


class AttemptStartThrottle(_FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "start"


class AttemptSubmitThrottle(_FixedWindowThrottle, throttling.UserRateThrottle):
    scope = "submit"


class RegisterThrottle(_FixedWindowThrottle):
    scope = "register"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(_FixedWindowThrottle):
    """Every login attempt from one client IP, successful or not."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "login_ip", "ident": self.get_ident(request)}


class LoginUsernameThrottle(_FixedWindowThrottle):
    """Every login attempt naming one account, whatever IP it comes from.

    Username and email of one account share a counter (else alternating them doubles the budget);
    a name that matches no account is counted under the name itself.
    """

    scope = "login"

    def get_cache_key(self, request, view):
        identifier = login_identifier(request)
        if not identifier:
            return None
        account_id = user_id_for_login(identifier=identifier)
        ident = f"id:{account_id}" if account_id else f"name:{identifier}"
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": "login_user", "ident": digest}


def login_identifier(request) -> str:
    """The username or email a login request names, from a DRF request (JSON) or a form post."""
    data = request.data if hasattr(request, "data") else request.POST
    value = data.get("username") if hasattr(data, "get") else None
    return value.strip().lower() if isinstance(value, str) else ""


LOGIN_THROTTLES = (LoginIPThrottle, LoginUsernameThrottle)


def login_throttle_wait(request) -> float | None:
    """Count one login attempt against the IP and username limits; seconds to wait if over either.

    The same throttles guard the API login and the login form, so the two share one budget.
    """
    waits = []
    for throttle_class in LOGIN_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 1)
    return max(waits) if waits else None
