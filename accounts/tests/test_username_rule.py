"""The username rule (accounts/validators.py): 3-30 ASCII letters, digits, '.', '_', '-', starting with a
letter or digit. Look-alike Unicode, control characters and spaces are refused by the API and the form."""

from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

BAD_USERNAMES = [
    "\uff41lice",  # fullwidth a, looks like "alice"
    "\u0430lice",  # Cyrillic a
    "ali\u200bce",  # zero-width space
    "\u202eecila",  # right-to-left override
    "ali\nce",
    "ali\tce",
    "ali\x00ce",  # NUL
    "ali\x07ce",  # BEL
    "álice",
    "al ice",
    "-alice",
    "ab",
    "a" * 31,
    "<b>x</b>",
    "x' OR '1'='1",
]


@pytest.mark.parametrize("username", BAD_USERNAMES)
def test_api_register_refuses_username(api_client, username):
    body = {"username": username, "email": "new@example.com", "password": "Sturdy-Pass-991"}
    response = api_client.post("/api/v1/auth/register", body, format="json")
    assert response.status_code == 400
    assert "username" in response.json()
    assert not User.objects.exists()


@pytest.mark.parametrize("username", BAD_USERNAMES)
def test_signup_form_refuses_username(client, username):
    body = {"username": username, "email": "new@example.com", "password": "Sturdy-Pass-991"}
    response = client.post("/accounts/signup/", body)
    assert response.status_code == 400
    assert 'id="id_username_error"' in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["Ada.L_ove-1", "abc", "0day", "a" * 30])
def test_usernames_within_the_rule_are_accepted(api_client, username):
    body = {"username": username, "email": "new@example.com", "password": "Sturdy-Pass-991"}
    assert api_client.post("/api/v1/auth/register", body, format="json").status_code == 201
    assert User.objects.get().username == username


def test_surrounding_whitespace_is_trimmed_not_kept(api_client):
    body = {"username": " carol\n", "email": "new@example.com", "password": "Sturdy-Pass-991"}
    assert api_client.post("/api/v1/auth/register", body, format="json").status_code == 201
    assert User.objects.get().username == "carol"


@pytest.mark.parametrize("username", ["ali\x00ce", "alice\u202e"])
def test_control_characters_at_login_are_clear_4xx(api_client, user, username):
    response = api_client.post("/api/v1/auth/login", {"username": username, "password": "x"}, format="json")
    assert response.status_code in {400, 401}
    assert "code" in response.json() or "username" in response.json()
