"""JWT: algorithm pinned to HS256, short-lived access tokens, expired blacklist rows flushed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db
ME = "/api/v1/auth/me"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def me_with(api_client, token: str):
    return api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")


def payload_for(user) -> dict:
    return dict(AccessToken.for_user(user).payload)


def test_a_genuine_hs256_token_is_accepted(api_client, user):
    token = jwt.encode(payload_for(user), settings.SECRET_KEY, algorithm="HS256")
    assert me_with(api_client, token).status_code == 200


def test_alg_none_token_is_refused(api_client, user):
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload_for(user))}."
    response = me_with(api_client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# The test SECRET_KEY is shorter than HS384/HS512 recommend; irrelevant to a token that must be refused.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_token_signed_with_another_algorithm_is_refused(api_client, user, algorithm):
    token = jwt.encode(payload_for(user), settings.SECRET_KEY, algorithm=algorithm)
    assert me_with(api_client, token).status_code == 401


def test_token_signed_with_another_key_is_refused(api_client, user):
    token = jwt.encode(payload_for(user), "not-the-secret-key-at-all-000000", algorithm="HS256")
    assert me_with(api_client, token).status_code == 401


def test_expired_access_token_is_refused(api_client, user):
    payload = payload_for(user)
    payload["exp"] = int((timezone.now() - timedelta(seconds=1)).timestamp())
    token = jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")
    assert me_with(api_client, token).status_code == 401


def test_access_tokens_are_short_lived(api_client, user, password):
    assert settings.SIMPLE_JWT["ALGORITHM"] == "HS256"
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    response = api_client.post(
        "/api/v1/auth/login", {"username": "alice", "password": password}, format="json"
    )
    assert response.json()["expires_in"] == 900
    claims = jwt.decode(response.json()["access_token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 900


def test_flushexpiredtokens_removes_only_expired_blacklist_rows(user):
    live = RefreshToken.for_user(user)
    expired = RefreshToken.for_user(user)
    expired.blacklist()
    live.blacklist()
    OutstandingToken.objects.filter(jti=expired["jti"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("flushexpiredtokens")
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert BlacklistedToken.objects.count() == 1


def test_the_token_brings_the_whole_account_in_one_query(api_client, user, django_assert_num_queries):
    token = str(AccessToken.for_user(user))
    with django_assert_num_queries(1):  # the user row; /me reads nothing else
        response = me_with(api_client, token)
    assert response.status_code == 200
    assert response.json()["username"] == "alice" and response.json()["email"] == "alice@example.com"


def test_a_deactivated_players_token_is_refused_at_once(api_client, user):
    token = str(AccessToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = me_with(api_client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_a_deleted_players_token_is_refused(api_client, user):
    token = str(AccessToken.for_user(user))
    user.delete()
    response = me_with(api_client, token)
    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


@pytest.mark.parametrize("user_id", [None, "not-a-uuid", 42])
def test_a_token_without_a_usable_user_id_is_refused(api_client, user, user_id):
    payload = payload_for(user)
    if user_id is None:
        del payload["user_id"]
    else:
        payload["user_id"] = user_id
    response = me_with(api_client, jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_the_schema_names_the_bearer_scheme(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
