from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from model_bakery import baker
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


def register(client, **overrides):
    body = {"username": "carol", "email": "carol@example.com", "password": "Sturdy-Pass-991", **overrides}
    return client.post(REGISTER, body, format="json")


def login(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


class TestRegister:
    def test_register_returns_201_without_password(self, api_client):
        response = register(api_client)
        assert response.status_code == 201
        assert set(response.json()) == {"id", "username", "email", "created_at"}
        user = User.objects.get(username="carol")
        assert user.check_password("Sturdy-Pass-991")
        assert user.password.startswith("argon2")

    def test_trailing_slash_is_accepted(self, api_client):
        response = api_client.post(
            REGISTER + "/",
            {"username": "dave", "email": "d@example.com", "password": "Sturdy-Pass-991"},
            format="json",
        )
        assert response.status_code == 201

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"username": "ALICE"}, "username"),
            ({"email": "Alice@Example.COM"}, "email"),
            ({"email": "not-an-email"}, "email"),
            ({"password": "123"}, "password"),
            ({"password": "password"}, "password"),
            ({"username": "a b"}, "username"),
            ({"username": "x"}, "username"),
            ({"username": "émile"}, "username"),
            ({"username": "bad\x00name"}, "username"),
        ],
    )
    def test_invalid_registration_is_400_with_field_error(self, api_client, user, overrides, field):
        response = register(api_client, **overrides)
        assert response.status_code == 400
        assert field in response.json()
        assert User.objects.count() == 1

    def test_missing_fields_are_400(self, api_client):
        response = api_client.post(REGISTER, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"username", "email", "password"}

    def test_malformed_json_is_400(self, api_client):
        response = api_client.post(REGISTER, "{not json", content_type="application/json")
        assert response.status_code == 400
        assert "detail" in response.json()

    def test_database_enforces_case_insensitive_uniqueness(self, user):
        with pytest.raises(IntegrityError):
            baker.make(User, username="Alice", email="other@example.com")

    def test_database_enforces_case_insensitive_email(self, user):
        with pytest.raises(IntegrityError):
            baker.make(User, username="alice2", email="ALICE@example.com")


class TestLogin:
    def test_login_with_username_returns_token_pair(self, api_client, user, password):
        response = login(api_client, "alice", password)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        assert me.status_code == 200
        assert me.json()["username"] == "alice"

    def test_login_with_email_any_case(self, api_client, user, password):
        assert login(api_client, "ALICE@example.com", password).status_code == 200

    def test_wrong_password_and_unknown_user_get_same_401(self, api_client, user):
        wrong = login(api_client, "alice", "nope-nope-nope")
        unknown = login(api_client, "nobody", "nope-nope-nope")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()

    def test_inactive_user_cannot_log_in(self, api_client, user, password):
        user.is_active = False
        user.save()
        assert login(api_client, "alice", password).status_code == 401

    def test_missing_fields_are_400(self, api_client):
        assert api_client.post(LOGIN, {}, format="json").status_code == 400


class TestRefreshAndLogout:
    def test_refresh_rotates_and_old_token_is_rejected(self, api_client, user, password):
        tokens = login(api_client, "alice", password).json()
        first = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
        assert first.status_code == 200
        assert first.json()["refresh_token"] != tokens["refresh_token"]
        again = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
        assert again.status_code == 401
        newer = api_client.post(REFRESH, {"refresh_token": first.json()["refresh_token"]}, format="json")
        assert newer.status_code == 200

    def test_garbage_refresh_token_is_401(self, api_client):
        response = api_client.post(REFRESH, {"refresh_token": "garbage"}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"

    def test_missing_refresh_token_is_400(self, api_client):
        assert api_client.post(REFRESH, {}, format="json").status_code == 400

    def test_logout_blacklists_refresh_token(self, api_client, user, password):
        tokens = login(api_client, "alice", password).json()
        response = api_client.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json")
        assert response.status_code == 204
        reuse = api_client.post(REFRESH, {"refresh_token": tokens["refresh_token"]}, format="json")
        assert reuse.status_code == 401
        twice = api_client.post(LOGOUT, {"refresh_token": tokens["refresh_token"]}, format="json")
        assert twice.status_code == 401

    def test_logout_without_token_is_400(self, api_client):
        assert api_client.post(LOGOUT, {}, format="json").status_code == 400


class TestMe:
    def test_me_shows_own_fields(self, auth_client, user):
        body = auth_client.get(ME).json()
        assert set(body) == {
            "id",
            "username",
            "email",
            "total_xp",
            "level",
            "timezone",
            "profile",
            "leaderboard_visible",
            "is_staff",
            "email_verified",
            "pending_email",
            "created_at",
        }
        assert body["id"] == str(user.id)
        assert body["email_verified"] is False
        assert body["total_xp"] == 0
        assert body["level"] == 1

    @pytest.mark.parametrize("header", [None, "Bearer garbage", "Bearer ", "Basic abc"])
    def test_missing_or_garbage_token_is_401_json(self, api_client, header):
        kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
        response = api_client.get(ME, **kwargs)
        assert response.status_code == 401
        assert response["Content-Type"].startswith("application/json")

    def test_expired_token_is_401(self, api_client, user, settings):
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))
        response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401

    def test_patch_me_updates_timezone_profile_and_asks_for_a_new_email(self, auth_client, user, password):
        response = auth_client.patch(
            ME,
            {
                "timezone": "Europe/Paris",
                "profile": {"bio": "hi"},
                "email": "new@example.com",
                "current_password": password,
            },
            format="json",
        )
        assert response.status_code == 200, response.json()
        assert (
            response.json()["pending_email"] == "new@example.com"
            and "current_password" not in response.json()
        )
        user.refresh_from_db()
        assert (user.timezone, user.profile, user.email) == (
            "Europe/Paris",
            {"bio": "hi"},
            "alice@example.com",
        )
        assert user.pending_email == "new@example.com"  # until its link is followed (test_verification.py)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"email": "BOB@example.com", "current_password": "Correct-Horse-42-battery"}, "email"),
            ({"email": "new@example.com"}, "current_password"),
            ({"email": "new@example.com", "current_password": "wrong"}, "current_password"),
            ({"email": "nope"}, "email"),
            ({"profile": [1, 2]}, "profile"),
            ({"profile": {"a": {"b": {"c": {"d": 1}}}}}, "profile"),
            ({"profile": {"x": "y" * 5000}}, "profile"),
        ],
    )
    def test_patch_me_invalid_is_400(self, auth_client, user, other_user, body, field):
        response = auth_client.patch(ME, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        user.refresh_from_db()
        assert user.timezone == "UTC"

    def test_username_and_xp_are_read_only(self, auth_client, user):
        auth_client.patch(ME, {"username": "mallory", "total_xp": 9999, "is_staff": True}, format="json")
        user.refresh_from_db()
        assert (user.username, user.total_xp, user.is_staff) == ("alice", 0, False)

    def test_put_is_not_allowed(self, auth_client):
        assert auth_client.put(ME, {}, format="json").status_code == 405


def test_full_curl_session(api_client):
    """The seed's session: register, login, then GET me with the bearer token."""
    assert register(api_client).status_code == 201
    tokens = login(api_client, "carol", "Sturdy-Pass-991").json()
    me = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert me.status_code == 200
    assert me.json()["email"] == "carol@example.com"
