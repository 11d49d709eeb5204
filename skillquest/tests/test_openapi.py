"""The schema's shared rules (skillquest/openapi.py), checked on every operation so that new endpoints
are held to them too; and the decision they document: a token that does not verify is ignored on
public operations and a 401 everywhere else.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from challenges.tests.helpers import make_challenge

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_OR_FIELDS = {"oneOf": [ERROR, {"$ref": "#/components/schemas/ValidationError"}]}
METHODS = {"get", "post", "put", "patch", "delete"}
# What anyone may call without signing in; every other operation needs a token (or a session). A new
# public operation adds itself here: the test below fails until it does, so none turns public unseen.
PUBLIC = {
    ("post", "/api/v1/auth/register/"), ("post", "/api/v1/auth/login/"), ("post", "/api/v1/auth/refresh/"),
    ("post", "/api/v1/auth/logout/"), ("post", "/api/v1/auth/password-reset/"),
    ("post", "/api/v1/auth/password-reset/confirm/"), ("post", "/api/v1/auth/verify-email/"),
    ("get", "/api/v1/challenges/"), ("get", "/api/v1/challenges/{id}/"), ("get", "/api/v1/tags/"),
    ("get", "/api/v1/badges/"), ("get", "/api/v1/badges/{id}/"), ("get", "/api/v1/leaderboard/"),
    ("get", "/api/v1/events/"), ("get", "/api/v1/events/{slug}/"),
    ("get", "/api/v1/events/{slug}/leaderboard/"),
    ("get", "/api/v1/users/{id}/progress/"), ("get", "/api/v1/users/{id}/badges/"),
    ("get", "/api/v1/users/{id}/xp-history/"), ("get", "/api/v1/users/{id}/following/"),
    ("get", "/api/v1/users/{id}/followers/"),
}  # fmt: skip
# Operations that take an API key (challenges/ingest/) instead of a player's token or session.
KEYED: dict[tuple[str, str], list[dict[str, list]]] = {
    ("post", "/api/v1/ingest/attempts/"): [{"apiKeyAuth": []}]
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_public_operations_say_security_none_and_the_others_their_schemes(schema):
    public = {(method, path) for method, path, operation in operations(schema) if operation["security"] == []}
    assert public == PUBLIC
    for method, path, operation in operations(schema):
        if (method, path) not in PUBLIC:
            expected = KEYED.get((method, path), [{"jwtAuth": []}, {"cookieAuth": []}])
            assert operation["security"] == expected, (method, path)


def test_every_operation_documents_its_errors_with_their_shapes(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        where = (method, path)
        for status, response in responses.items():
            if status >= "400":
                shape = response["content"]["application/json"]["schema"]
                if status == "400" and shape != ERROR_OR_FIELDS:
                    # An operation's own 400 (the catalog import's full result) still has both keys.
                    own = component(schema, shape["$ref"].rsplit("/", 1)[1])
                    assert {"detail", "code"} <= set(own["required"]), (where, status)
                else:
                    assert shape == (ERROR_OR_FIELDS if status == "400" else ERROR), (where, status)
                assert response["description"], (where, status)
        assert "429" in responses, where  # every operation is throttled
        assert responses["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
        if (method, path) not in PUBLIC:
            assert "401" in responses, where
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert "400" in responses, where


def test_errors_only_the_code_knows_are_documented_where_they_happen(schema):
    def statuses(method: str, path: str) -> set[str]:
        return set(schema["paths"][path][method]["responses"])

    assert {"404", "409"} <= statuses("post", "/api/v1/attempts/{id}/submit/")
    assert "404" in statuses("post", "/api/v1/attempts/")  # the body's challenge
    assert "401" in statuses("post", "/api/v1/auth/login/")
    assert {"401", "404"} <= statuses("get", "/api/v1/leaderboard/")  # friends board, unknown tag
    assert "409" in statuses("delete", "/api/v1/challenges/{id}/")
    assert {"404", "409"} <= statuses("post", "/api/v1/admin/badge-awards/{award_id}/revoke/")
    assert "403" in statuses("post", "/api/v1/challenges/") and "403" not in statuses(
        "get", "/api/v1/auth/me/"
    )
    assert "401" not in statuses("post", "/api/v1/auth/register/")


def test_the_error_components_are_detail_and_code_and_drfs_per_field_shape(schema):
    error = component(schema, "Error")
    assert error["required"] == ["code", "detail"]
    assert set(error["properties"]) == {"detail", "code"}
    fields = component(schema, "ValidationError")
    assert fields["properties"]["non_field_errors"] == {"type": "array", "items": {"type": "string"}}
    assert "additionalProperties" in fields


def test_timezone_is_a_string_and_no_enum_comes_from_the_hosts_data(schema):
    assert "TimezoneEnum" not in schema["components"]["schemas"]
    assert component(schema, "Me")["properties"]["timezone"]["type"] == "string"
    assert component(schema, "PatchedMeRequest")["properties"]["timezone"]["type"] == "string"
    for name, body in schema["components"]["schemas"].items():
        assert len(body.get("enum", ())) < 50, name


def test_grading_type_is_an_enum_and_always_sent_fields_are_required(schema):
    assert component(schema, "GradingTypeEnum")["enum"] == ["self_reported", "exact", "regex", "numeric"]
    me = component(schema, "Me")
    assert {"email", "timezone", "profile", "leaderboard_visible"} <= set(me["required"])
    assert set(me["required"]) == set(me["properties"])
    assert "me" not in component(schema, "Leaderboard")["required"]  # sent with around=me only
    assert set(component(schema, "JobStatus")["required"]) == {"job_id", "status"}


def test_staff_shapes_are_in_the_schema_whoever_fetches_it(schema):
    body = schema["paths"]["/api/v1/challenges/"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChallengeStaffRequest"
    }
    assert component(schema, "ChallengeForStaffOrPlayer")["anyOf"] == [
        {"$ref": "#/components/schemas/ChallengeStaff"}, {"$ref": "#/components/schemas/Challenge"}
    ]  # fmt: skip
    assert component(schema, "BadgeForStaffOrPlayer")["anyOf"] == [
        {"$ref": "#/components/schemas/BadgeStaff"}, {"$ref": "#/components/schemas/Badge"}
    ]  # fmt: skip
    assert {"grading", "created_by"} <= set(component(schema, "ChallengeStaff")["required"])


@pytest.mark.django_db
def test_one_schema_is_served_to_everyone(schema, user, staff_user):
    def served(token: str | None) -> bytes:
        client = APIClient()
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        return response.content

    anonymous = served(None)
    assert served(str(AccessToken.for_user(user))) == anonymous
    assert served(str(AccessToken.for_user(staff_user))) == anonymous
    assert served("not-a-token") == anonymous
    assert json.loads(anonymous) == json.loads(OpenApiJsonRenderer().render(schema))  # what the tests read


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["expired", "garbled"])
def test_a_token_that_does_not_verify_is_ignored_on_public_operations(api_client, staff_user, kind):
    make_challenge(title="Draft", published=False)
    make_challenge(title="Published")
    token = expired_token(staff_user) if kind == "expired" else "not.a.token"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    listed = api_client.get("/api/v1/challenges/")
    assert listed.status_code == 200
    assert [row["title"] for row in listed.json()["results"]] == ["Published"]  # answered as anonymous
    assert api_client.get("/api/v1/leaderboard/").status_code == 200
    body = {"username": "nobody", "password": "wrong-password"}
    assert api_client.post("/api/v1/auth/login/", body, format="json").json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_where_signing_in_is_needed_it_is_a_401_with_a_bearer_challenge(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {expired_token(user)}")
    me = api_client.get("/api/v1/auth/me/")
    assert (me.status_code, me.json()["code"]) == (401, "token_not_valid")
    assert me["WWW-Authenticate"].startswith("Bearer")
    friends = api_client.get("/api/v1/leaderboard/", {"board": "friends"})
    assert (friends.status_code, friends.json()["code"]) == (401, "not_authenticated")
    write = api_client.post("/api/v1/challenges/", {"title": "T", "xp": 10}, format="json")
    assert (write.status_code, write.json()["code"]) == (401, "token_not_valid")


@pytest.mark.django_db
def test_a_valid_token_is_still_honoured_on_public_operations(api_client, staff_user):
    make_challenge(title="Draft", published=False)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(staff_user)}")
    assert [row["title"] for row in api_client.get("/api/v1/challenges/").json()["results"]] == ["Draft"]
