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
    return posted_value(request, "username")


def posted_value(request, name: str) -> str:
    """A posted field, stripped and lower-cased, from a DRF request (JSON) or a form post; "" if absent."""
    data = request.data if hasattr(request, "data") else request.POST
    value = data.get(name) if hasattr(data, "get") else None
    return value.strip().lower() if isinstance(value, str) else ""


LOGIN_THROTTLES = (LoginIPThrottle, LoginUsernameThrottle)


def login_throttle_wait(request) -> float | None:
    """Count one login attempt against the IP and username limits; seconds to wait if over either.

    The same throttles guard the API login and the login form, so the two share one budget.
    """
    return throttles_wait(request, LOGIN_THROTTLES)


def throttles_wait(request, throttle_classes) -> float | None:
    """Count one request of a page's form against each throttle; seconds to wait if over any."""
    waits = []
    for throttle_class in throttle_classes:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            waits.append(throttle.wait() or 1)
    return max(waits) if waits else None


class PasswordResetIPThrottle(FixedWindowThrottle):
    """Reset requests from one client IP, whatever address they name."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": "reset_ip", "ident": self.get_ident(request)}


class PasswordResetEmailThrottle(FixedWindowThrottle):
    """Reset requests naming one address, from any IP: nobody floods a player's inbox. Counted the
    same for known and unknown addresses, so the limit reveals nothing either."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        email = posted_value(request, "email")
        if not email:
            return None
        digest = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_format % {"scope": "reset_email", "ident": digest}


PASSWORD_RESET_THROTTLES = (PasswordResetIPThrottle, PasswordResetEmailThrottle)


class VerifyEmailThrottle(FixedWindowThrottle):
    """Verification mails a signed-in player asks to be sent again."""

    scope = "verify_email"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def password_reset_throttle_wait(request) -> float | None:
    """Count one reset request (the page's form) against both reset limits; seconds to wait if over."""
    return throttles_wait(request, PASSWORD_RESET_THROTTLES)
