"""`Authorization: Api-Key <key>` for DRF: who the key is, what its scopes let it do, its OpenAPI scheme.

A key is not a player: a request made with one is anonymous (`request.user`) with the key as
`request.auth`. Its scopes: `read` lets it make the GET requests anyone may make (the public
challenges, boards, progress and badges), counted per key rather than per address; `ingest` lets it
`POST /api/v1/ingest/attempts`. A request outside its scopes is a 403 and an unknown, wrong, revoked
or expired key a 401 — except on an operation anyone may call (skillquest.access), where a key that
grants nothing is ignored and the request answered as anonymous, as a bearer token that does not
verify is there (the schema promises those operations no 401 or 403). Every use of a known key is
audited under the key's name (`api_key_used`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from challenges.ingest.selectors import api_key_for_secret
from challenges.ingest.services import api_key_used
from challenges.models import ApiKey, ApiKeyScope
from skillquest.access import request_is_public

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request) -> tuple[AnonymousUser, ApiKey] | None:
        keyword, _, secret = get_authorization_header(request).decode("latin-1").partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None  # a Bearer token, or nothing: another authenticator's business
        api_key = api_key_for_secret(secret.strip())
        if api_key is None or not api_key.usable:
            if request_is_public(request):
                return None
            raise exceptions.AuthenticationFailed(
                "Unknown, revoked or expired API key.", code="api_key_invalid"
            )
        api_key_used(api_key=api_key, method=request.method, path=request.get_full_path())
        needed = ApiKeyScope.READ if request.method in permissions.SAFE_METHODS else ApiKeyScope.INGEST
        if not api_key.has_scope(needed):
            if request_is_public(request):
                return None
            raise exceptions.PermissionDenied(
                f"This API key lacks the '{needed}' scope.", code="api_key_scope"
            )
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


class HasApiKey(permissions.BasePermission):
    """The request was made with a key (its scope was checked when it was authenticated)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """`apiKeyAuth` in the schema, listed on the operations that take a key (`api_key_scope` on the
    view). The GETs anyone may make say `security: []` (skillquest.openapi): a `read` key is accepted
    there, and only moves the request to the key's own rate limit."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` (staff issue keys at /api/v1/admin/api-keys). Scope `ingest`: "
            "POST /api/v1/ingest/attempts; scope `read`: the public GETs.",
        }

    def get_security_requirement(self, auto_schema) -> list[dict[str, list[Any]]]:
        return [{self.name: []}] if getattr(auto_schema.view, "api_key_scope", None) else []
