"""The login and registration limits: which request counts against which counter.

Counting (fixed windows in the cache, one round trip, 429 + Retry-After) is skillquest.throttling's;
this module only says how accounts' requests are keyed. The rates are REST_FRAMEWORK's "login" and
"register" (THROTTLE_LOGIN, THROTTLE_REGISTER). The API login, the login form, the browsable API's
login and the admin login are all counted by `LOGIN_THROTTLES`, so they share one budget.
"""

from __future__ import annotations

import hashlib

from accounts.selectors import user_id_for_login
from skillquest.throttling import FixedWindowThrottle


class RegisterThrottle(FixedWindowThrottle):
    scope = "register"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(FixedWindowThrottle):
    """Every login attempt from one client IP, successful or not."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "login_ip", "ident": self.get_ident(request)}


class LoginUsernameThrottle(FixedWindowThrottle):
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
