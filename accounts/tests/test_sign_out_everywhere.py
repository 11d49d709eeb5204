"""Sign out everywhere: every refresh token revoked, older access tokens refused, every session ended."""

from __future__ import annotations

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import User

pytestmark = pytest.mark.django_db
API = "/api/v1/auth"


def log_in(password: str, username: str = "alice") -> dict:
    """A new device: its own API client and tokens from the real login endpoint."""
    response = APIClient().post(f"{API}/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def bearer(tokens: dict) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


def browser(password: str, username: str = "alice") -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
    return client


def refresh(tokens: dict):
    return APIClient().post(f"{API}/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")


def test_it_ends_every_device_and_session_of_the_player_and_no_one_elses(user, other_user, password):
    phone, laptop, bobs = log_in(password), log_in(password), log_in(password, "bob")
    tablet, bobs_browser = browser(password), browser(password, "bob")
    # A token refreshed before the sign-out: its access token inherits the epoch it was issued at.
    rotated = refresh(laptop).json()

    response = bearer(phone).post(f"{API}/logout-all")

    assert response.status_code == 204
    for device in (phone, laptop):
        assert bearer(device).get(f"{API}/me").status_code == 401  # access tokens issued before
    assert bearer(rotated).get(f"{API}/me").status_code == 401
    assert refresh(phone).status_code == 401 and refresh(rotated).status_code == 401  # refresh revoked
    assert tablet.get("/accounts/profile/").status_code == 302  # the session no longer verifies
    # Bob keeps every way in (checked before his refresh, which rotates and so blacklists his old token).
    assert not BlacklistedToken.objects.filter(token__user=other_user).exists()
    assert bearer(bobs).get(f"{API}/me").status_code == 200 and refresh(bobs).status_code == 200
    assert bobs_browser.get("/accounts/profile/").status_code == 200


def test_signing_in_again_afterwards_works(user, password):
    old = log_in(password)
    assert bearer(old).post(f"{API}/logout-all").status_code == 204
    new = log_in(password)
    assert bearer(new).get(f"{API}/me").status_code == 200
    assert refresh(new).status_code == 200
    assert browser(password).get("/accounts/profile/").status_code == 200


def test_twice_in_a_row_is_fine_and_revokes_nothing_more(user, password):
    tokens = log_in(password)
    assert bearer(tokens).post(f"{API}/logout-all").status_code == 204
    revoked = BlacklistedToken.objects.count()
    again = log_in(password)
    assert bearer(again).post(f"{API}/logout-all").status_code == 204
    assert BlacklistedToken.objects.count() == revoked + 1  # only the new device's token
    assert User.objects.get(pk=user.pk).session_epoch == 2


def test_anonymous_is_401(api_client):
    response = api_client.post(f"{API}/logout-all")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_get_is_405(user, password):
    assert bearer(log_in(password)).get(f"{API}/logout-all").status_code == 405


def test_sessions_from_before_any_sign_out_stay_valid(user, password):
    # Epoch 0 keeps Django's own session hash: deploying this signs nobody out.
    client = browser(password)
    user.refresh_from_db()
    assert user.session_epoch == 0
    assert client.session["_auth_user_hash"] == AbstractBaseUser.get_session_auth_hash(user)
    assert client.get("/accounts/profile/").status_code == 200


def test_the_profile_page_button_signs_out_everywhere(user, password):
    here, elsewhere = browser(password), browser(password)
    device = log_in(password)
    page = here.get("/accounts/profile/").content.decode()
    assert 'action="/accounts/logout-all/"' in page

    response = here.post("/accounts/logout-all/", follow=True)

    assert response.redirect_chain[-1] == ("/accounts/login/", 302)
    assert "Signed out on every device." in response.content.decode()
    for client in (here, elsewhere):
        assert client.get("/accounts/profile/").status_code == 302
    assert bearer(device).get(f"{API}/me").status_code == 401
    assert refresh(device).status_code == 401


def test_the_page_action_needs_a_signed_in_post(client, user, password):
    assert client.post("/accounts/logout-all/").status_code == 302  # anonymous: to the login page
    assert browser(password).get("/accounts/logout-all/").status_code == 405


NEW_PASSWORD = "Brand-New-Staple-77"


def change_password(tokens: dict, **body):
    return bearer(tokens).post(f"{API}/password", body, format="json")


def test_a_password_change_signs_out_every_other_device_and_keeps_this_one(user, other_user, password):
    here, phone, bobs = log_in(password), log_in(password), log_in(password, "bob")
    tablet = browser(password)

    response = change_password(here, current_password=password, new_password=NEW_PASSWORD)

    assert response.status_code == 200, response.content
    fresh = response.json()
    assert set(fresh) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert bearer(fresh).get(f"{API}/me").status_code == 200  # this device goes on
    assert refresh(fresh).status_code == 200
    for device in (here, phone):  # the tokens from before, of every device, this one's included
        assert bearer(device).get(f"{API}/me").status_code == 401
        assert refresh(device).status_code == 401
    assert tablet.get("/accounts/profile/").status_code == 302
    assert bearer(bobs).get(f"{API}/me").status_code == 200
    old = {"username": "alice", "password": password}
    assert APIClient().post(f"{API}/login", old, format="json").status_code == 401
    log_in(NEW_PASSWORD)


def test_a_wrong_current_password_is_400_and_changes_nothing(user, password):
    tokens = log_in(password)
    response = change_password(tokens, current_password="not-it-at-all", new_password=NEW_PASSWORD)
    assert response.status_code == 400
    assert "current_password" in response.json()
    assert bearer(tokens).get(f"{API}/me").status_code == 200 and refresh(tokens).status_code == 200
    assert User.objects.get(pk=user.pk).check_password(password)


@pytest.mark.parametrize("new_password", ["short", "alice", "12345678901", "password123"])
def test_a_new_password_the_validators_refuse_is_400_with_the_reasons(user, password, new_password):
    tokens = log_in(password)
    response = change_password(tokens, current_password=password, new_password=new_password)
    assert response.status_code == 400
    assert response.json()["new_password"]  # the validators' messages
    assert User.objects.get(pk=user.pk).check_password(password)
    assert bearer(tokens).get(f"{API}/me").status_code == 200


@pytest.mark.parametrize("body", [{}, {"current_password": "x"}, {"new_password": NEW_PASSWORD}])
def test_missing_fields_are_400(user, password, body):
    response = change_password(log_in(password), **body)
    assert response.status_code == 400
    assert set(response.json()) & {"current_password", "new_password"}


def test_changing_the_password_needs_a_signed_in_player(api_client):
    body = {"current_password": "x", "new_password": NEW_PASSWORD}
    assert api_client.post(f"{API}/password", body, format="json").status_code == 401
