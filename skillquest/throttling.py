"""Rate limits: DRF throttles counted in Django's cache (Redis when REDIS_URL is set).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (THROTTLE_* variables). They are read
on every request rather than at import time, so `settings` overrides in tests take effect.
The client IP is DRF's `get_ident`, which trusts X-Forwarded-For only as far as NUM_PROXIES says.
"""

from __future__ import annotations

import hashlib
import logging

from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from accounts.selectors import user_id_for_login

logger = logging.getLogger("skillquest.throttling")


class _RatesFromSettings:
    @property
    def THROTTLE_RATES(self):  # the attribute name DRF's SimpleRateThrottle reads
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view):
        # Fail open: while Redis (the counters' store) is down, players keep submitting and the
        # outage shows on /readyz, rather than every request becoming a 500 (docs/reliability.md).
        try:
            return super().allow_request(request, view)
        except RedisError:
            logger.warning("throttle_unavailable", extra={"scope": self.scope}, exc_info=True)
            return True


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    scope = "user"


class AttemptStartThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    scope = "start"


class AttemptSubmitThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    scope = "submit"


class RegisterThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    scope = "register"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    """Every login attempt from one client IP, successful or not."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "login_ip", "ident": self.get_ident(request)}


class LoginUsernameThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
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
