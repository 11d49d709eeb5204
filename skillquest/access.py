"""Who may call an operation, asked of the view's own permissions. Kept free of DRF's views module:
the authentication class (loaded while DRF's views module is) depends on it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser


class _RequestAs:
    """A request as the view's permissions would see it from `user`: the same method, path and body."""

    auth = None

    def __init__(self, request: Any, user: Any) -> None:
        self._request = request
        self.user = user

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def permits(view: Any, request: Any, user: Any) -> bool:
    """Whether the view's permissions let `user` make this request (object-level checks aside)."""
    seen = _RequestAs(request, user)
    return all(permission.has_permission(seen, view) for permission in view.get_permissions())


def operation_is_public(view: Any, request: Any) -> bool:
    """An operation anyone may call without signing in (register, login, the boards, the challenge list).

    One rule for two places: the schema says `security: []` for it (skillquest.openapi), and a bearer
    token that cannot be verified (expired, revoked, garbled) is ignored there rather than answered
    with a 401 (accounts.authentication): the request is answered as anonymous. A valid token is still
    honoured (staff see drafts, a player their friends board). API keys follow the same rule
    (challenges.ingest.authentication).
    """
    return permits(view, request, AnonymousUser())


def request_is_public(request: Any) -> bool:
    """`operation_is_public` for a request being authenticated: its view, from DRF's parser context."""
    view = (request.parser_context or {}).get("view")
    return view is not None and operation_is_public(view, request)
