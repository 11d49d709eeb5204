"""Bad input is a 4xx JSON answer, never a 500; hostile-looking text is stored verbatim, shown escaped."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys

import pytest
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge
from skillquest.tests.helpers import ROOT, port_open
from skillquest.tests.processes import running

pytestmark = pytest.mark.django_db
ONE_MB = 1024 * 1024
GUNICORN_PORT = 8161


def oversized_json() -> str:
    return json.dumps({"username": "alice", "password": "x" * (ONE_MB + 10)})


class TestOversizedBodies:
    def test_oversized_login_body_is_413_json(self, api_client):
        response = api_client.generic(
            "POST", "/api/v1/auth/login", oversized_json(), content_type="application/json"
        )
        assert response.status_code == 413
        assert response.json() == {
            "detail": f"Request body too large (at most {ONE_MB} bytes).",
            "code": "request_too_large",
        }

    def test_oversized_submit_is_413_and_nothing_is_graded(self, auth_client, user):
        challenge = baker.make(Challenge, published=True, xp=10, grading={"type": "self_reported"})
        attempt = baker.make(Attempt, user=user, challenge=challenge)
        body = json.dumps({"score": 90, "solution": "s" * (ONE_MB + 1)})
        response = auth_client.generic(
            "POST", f"/api/v1/attempts/{attempt.pk}/submit", body, content_type="application/json"
        )
        assert response.status_code == 413
        attempt.refresh_from_db()
        assert attempt.status == Attempt.Status.STARTED

    def test_body_just_under_the_limit_is_parsed_and_validated(self, api_client):
        body = json.dumps({"username": "u" * (ONE_MB - 100), "password": "p"})
        response = api_client.generic("POST", "/api/v1/auth/login", body, content_type="application/json")
        assert response.status_code == 400
        assert "username" in response.json()

    def test_invalid_content_length_is_400_json(self, api_client):
        response = api_client.generic(
            "POST", "/api/v1/auth/login", "{}", content_type="application/json", CONTENT_LENGTH="nope"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request"

    def test_oversized_form_post_on_a_page_is_400_not_500(self, client):
        client.raise_request_exception = False
        response = client.post("/accounts/signup/", {"username": "x" * (ONE_MB + 10)})
        assert response.status_code == 400


@pytest.fixture
def gunicorn_server(tmp_path):
    env = {**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false"}
    with running(
        [sys.executable, "-m", "gunicorn", "skillquest.wsgi:application",
         "--bind", f"127.0.0.1:{GUNICORN_PORT}", "--workers", "1"],
        cwd=ROOT, env=env, log=tmp_path / "gunicorn.log", stdout=subprocess.DEVNULL,
        ready=lambda: port_open(GUNICORN_PORT), what="gunicorn to listen",
    ):  # fmt: skip
        yield f"127.0.0.1:{GUNICORN_PORT}"


@pytest.mark.serial
def test_oversized_body_through_real_gunicorn_is_413_json(gunicorn_server):
    connection = http.client.HTTPConnection(gunicorn_server, timeout=20)
    connection.request(
        "POST", "/api/v1/auth/login", body=oversized_json(), headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read())["code"] == "request_too_large"
    connection.close()
    health = http.client.HTTPConnection(gunicorn_server, timeout=10)
    health.request("GET", "/healthz")
    assert health.getresponse().status == 200


class TestJsonCaps:
    def test_profile_nested_too_deeply_is_400(self, auth_client, user):
        deep = {"a": {"b": {"c": {"d": 1}}}}
        response = auth_client.patch("/api/v1/auth/me", {"profile": deep}, format="json")
        assert response.status_code == 400
        assert "nested too deeply" in response.json()["profile"][0]
        user.refresh_from_db()
        assert user.profile != deep

    def test_profile_at_the_depth_limit_is_stored(self, auth_client, user):
        response = auth_client.patch("/api/v1/auth/me", {"profile": {"a": {"b": {"c": 1}}}}, format="json")
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.profile == {"a": {"b": {"c": 1}}}

    def test_huge_profile_is_400(self, auth_client):
        response = auth_client.patch("/api/v1/auth/me", {"profile": {"bio": "x" * 5000}}, format="json")
        assert response.status_code == 400
        assert "too large" in response.json()["profile"][0]

    def test_json_nested_deeper_than_python_recursion_is_400_not_500(self, auth_client):
        body = '{"profile": ' + "[" * 100_000 + "]" * 100_000 + "}"
        response = auth_client.generic("PATCH", "/api/v1/auth/me", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"

    @pytest.mark.parametrize("profile", [{"bio": "a\x00b"}, {"k\x00": "v"}, {"list": ["ok", "\x00"]}])
    def test_nul_characters_in_profile_are_400_not_500(self, auth_client, profile):
        response = auth_client.patch("/api/v1/auth/me", {"profile": profile}, format="json")
        assert response.status_code == 400
        assert "NUL" in response.json()["profile"][0]

    @pytest.fixture
    def attempt(self, user):
        challenge = baker.make(Challenge, published=True, xp=10, grading={"type": "self_reported"})
        return baker.make(Attempt, user=user, challenge=challenge)

    @pytest.mark.parametrize(
        ("client_metadata", "message"),
        [
            ({"a": {"b": {"c": {"d": {"e": 1}}}}}, "nested too deeply"),
            ({"blob": "x" * 20_000}, "too large"),
            ({"agent": "a\x00b"}, "NUL"),
        ],
    )
    def test_bad_client_metadata_on_submit_is_400(self, auth_client, attempt, client_metadata, message):
        response = auth_client.post(
            f"/api/v1/attempts/{attempt.pk}/submit", {"score": 90, "client": client_metadata}, format="json"
        )
        assert response.status_code == 400
        assert message in response.json()["client"][0]
        attempt.refresh_from_db()
        assert attempt.status == Attempt.Status.STARTED

    def test_reasonable_client_metadata_is_stored(self, auth_client, attempt):
        client_metadata = {"agent": "cli/1.0", "env": {"os": {"name": "linux"}}}
        response = auth_client.post(
            f"/api/v1/attempts/{attempt.pk}/submit", {"score": 90, "client": client_metadata}, format="json"
        )
        assert response.status_code == 200
        attempt.refresh_from_db()
        assert attempt.metadata["client"] == client_metadata


SQL_LIKE = "'; DROP TABLE accounts_user; --"
HTML_LIKE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_sql_and_html_looking_profile_is_stored_verbatim_and_shown_escaped(auth_client, client, user):
    profile = {"display_name": HTML_LIKE[:60], "bio": SQL_LIKE}
    response = auth_client.patch("/api/v1/auth/me", {"profile": profile}, format="json")
    assert response.status_code == 200
    assert auth_client.get("/api/v1/auth/me").json()["profile"] == profile
    user.refresh_from_db()
    assert user.profile == profile
    assert User.objects.count() == 1
    client.force_login(user)
    html = client.get("/accounts/profile/").content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&#x27;; DROP TABLE accounts_user; --" in html


def test_html_looking_profile_from_the_page_form_is_stored_and_escaped(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/profile/",
        {"email": "alice@example.com", "timezone": "UTC", "display_name": "<b>bold</b>", "bio": SQL_LIKE},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.profile["display_name"] == "<b>bold</b>"
    assert user.profile["bio"] == SQL_LIKE
    html = client.get("/accounts/profile/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html


def test_html_looking_signup_input_is_shown_escaped_in_errors(client):
    response = client.post(
        "/accounts/signup/", {"username": "<svg onload=alert(1)>", "email": "<i>@x", "password": "p"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<svg onload" not in html and "<i>@x" not in html
    assert "&lt;svg onload=alert(1)&gt;" in html


def test_sql_looking_login_is_a_plain_401(api_client, user):
    response = api_client.post(
        "/api/v1/auth/login", {"username": "' OR '1'='1' --", "password": "' OR '1'='1"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_sql_looking_challenge_title_is_stored_verbatim(staff_client):
    response = staff_client.post(
        "/api/v1/challenges", {"title": SQL_LIKE, "description": HTML_LIKE, "xp": 10}, format="json"
    )
    assert response.status_code == 201, response.json()
    challenge = Challenge.objects.get(pk=response.json()["id"])
    assert (challenge.title, challenge.description) == (SQL_LIKE, HTML_LIKE)
