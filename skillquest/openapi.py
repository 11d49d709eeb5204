"""The OpenAPI schema's shared rules: drf-spectacular's AutoSchema, extended so that every operation,
today's and any added later, is documented the same way without a decorator on each view.

- Security: `security: []` on an operation anyone may call (`skillquest.api.operation_is_public`),
  the bearer and cookie schemes on the others.
- Errors: each operation lists the error statuses it can answer, with their shape: `Error`
  (`{detail, code}`) and, for 400, also `ValidationError` (DRF's per-field messages). Which ones
  follows from the operation: 400 with a body or query, 401 and 403 from its permissions, 404 with a
  path parameter or pages, 429 with throttles. Errors only the code behind a view knows (a 409 from
  its service, a 404 for an id in the body) the view adds with `errors(...)` in its `extend_schema`.
- Responses: every field of a response is required (serializers always send it), unless the
  serializer names it in `optional_in_response` (fields it leaves out when empty).
- One schema for everyone: the schema view authenticates nobody (SPECTACULAR_SETTINGS'
  SERVE_AUTHENTICATION), so what a view documents never depends on who fetched it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS

from skillquest.access import operation_is_public, permits

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"
COMPONENTS: dict[str, dict[str, Any]] = {
    ERROR: {
        "type": "object",
        "description": "Every error but invalid fields: what went wrong, and a stable code to act on.",
        "properties": {
            "detail": {"type": "string", "description": "For people: what went wrong."},
            "code": {
                "type": "string",
                "description": "For programs, stable: e.g. `not_authenticated`, `token_not_valid`, "
                "`permission_denied`, `not_found`, `attempt_already_submitted`, `throttled`.",
            },
        },
        "required": ["code", "detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": "DRF's per-field shape: each invalid field with its messages; `non_field_errors` "
        "for the body as a whole. A nested field nests the same shape (list items by index).",
        "properties": {"non_field_errors": {"type": "array", "items": {"type": "string"}}},
        "additionalProperties": {"anyOf": [{"type": "array", "items": {}}, {"type": "object"}]},
    },
}

DESCRIPTIONS = {
    400: "Invalid input: the fields' messages (`ValidationError`), or `Error` for a body that is not "
    "JSON or a rule of the request as a whole.",
    401: "Not signed in, or the credentials are not valid (`code` says which): sign in or refresh.",
    403: "Signed in but not allowed: staff only, or a cookie session's write without its CSRF token.",
    404: "Not found, or not yours to see.",
    409: "The resource's state does not allow this (`code` names the conflict).",
    429: "Too many requests: retry after `Retry-After` seconds.",
    503: "A service it needs (Redis, the job queue) is down: try again shortly.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
PAGE_PARAMETERS = {"page", "page_size"}  # a bad page number is a 404, a bad size falls back


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error_schema(status: int) -> dict[str, Any]:
    # Error first: a generated client tries the shapes in order, and only Error requires its fields.
    return {"oneOf": [_ref(ERROR), _ref(VALIDATION_ERROR)]} if status == 400 else _ref(ERROR)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses=...)`, for what only the view's code knows."""
    return {
        status: OpenApiResponse(response=error_schema(status), description=DESCRIPTIONS[status])
        for status in statuses
    }


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": error_schema(status)}},
    }
    if status == 429:
        response["headers"] = RETRY_AFTER
    return response


class EitherSerializer(PolymorphicProxySerializer):
    """A response whose shape depends on who asks (staff or player): `anyOf` the serializers, the
    fullest first, so that a generated client tries it first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("resource_type_field_name", None)  # no field tells the shapes apart
        super().__init__(*args, **kwargs)


def staff_or_player_crud(name: str, *, staff: type, player: type):
    """The schema of a catalogue viewset that everyone reads and staff edit (challenges, badges): reads
    answer `name`, either shape (staff's first); staff writes take and answer the staff shape."""
    as_seen = EitherSerializer(name, [staff, player])
    staff_write = extend_schema(request=staff, responses={200: staff})
    return extend_schema_view(
        list=extend_schema(responses={200: as_seen}),
        retrieve=extend_schema(responses={200: as_seen}),
        create=extend_schema(request=staff, responses={201: staff}),
        update=staff_write,
        partial_update=staff_write,
        destroy=extend_schema(responses={204: None, **errors(409)}),
    )


class EitherSerializerExtension(PolymorphicProxySerializerExtension):
    # anyOf, not oneOf: a staff answer may also satisfy the player's shape (no field forbids extras).
    target_class = "skillquest.openapi.EitherSerializer"
    priority = 1

    def map_serializer(self, auto_schema, direction):
        return {"anyOf": super().map_serializer(auto_schema, direction)["oneOf"]}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in COMPONENTS.items():
            registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            )
        if self._is_public():
            operation["security"] = []
        responses = operation["responses"]
        for status in self._error_statuses(operation):
            responses.setdefault(str(status), _error_response(status))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def get_auth(self) -> list[dict[str, Any]]:
        schemes = super().get_auth()  # also registers the schemes' definitions
        return [] if self._is_public() else [scheme for scheme in schemes if scheme]

    def get_request_serializer(self):
        # A DELETE has a body only where its view declares one (DELETE /auth/me: the password).
        return None if self.method == "DELETE" else super().get_request_serializer()

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        self.method = "POST"  # drf-spectacular documents the bodies of PUT, PATCH and POST only
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _is_public(self) -> bool:
        return operation_is_public(self.view, self.view.request)

    def _error_statuses(self, operation: dict[str, Any]) -> set[int]:
        parameters = operation.get("parameters", [])
        statuses = set()
        if "requestBody" in operation or any(
            parameter["in"] in {"query", "header"} and parameter["name"] not in PAGE_PARAMETERS
            for parameter in parameters
        ):
            statuses.add(400)
        if not self._is_public():
            statuses.add(401)
            player = get_user_model()(is_staff=False)
            csrf = self.method not in SAFE_METHODS and any(
                isinstance(authenticator, SessionAuthentication)
                for authenticator in self.view.get_authenticators()
            )
            if csrf or not permits(self.view, self.view.request, player):
                statuses.add(403)
        if any(parameter["in"] == "path" or parameter["name"] == "page" for parameter in parameters):
            statuses.add(404)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _postprocess_serializer_schema(self, schema, serializer, direction):
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if direction == "response" and schema.get("properties"):
            optional = set(getattr(serializer, "optional_in_response", ()))
            schema["required"] = sorted(name for name in schema["properties"] if name not in optional)
        return schema
