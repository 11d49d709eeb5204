"""Password reset by real email: the API, the pages, the one-use link, no account enumeration."""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.emails.conftest import part_of

pytestmark = pytest.mark.django_db
API = "/api/v1/auth"
NEW_PASSWORD = "Brand-New-Pass-777"


def ask_reset(client: APIClient, email: str, **extra):
    return client.post(f"{API}/password-reset", {"email": email}, format="json", **extra)


def confirm(uid: str, token: str, new_password: str = NEW_PASSWORD):
    body = {"uid": uid, "token": token, "new_password": new_password}
    return APIClient().post(f"{API}/password-reset/confirm", body, format="json")


def link_parts(link: str) -> tuple[str, str]:
    """(uid, token) of a reset link: /accounts/password/reset/<uid>/<token>/."""
    *_, uid, token = urlsplit(link).path.rstrip("/").split("/")
    return uid, token


def log_in(username: str, password: str):
    return APIClient().post(f"{API}/login", {"username": username, "password": password}, format="json")


def requested(client, email, django_capture_on_commit_callbacks, run_jobs):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask_reset(client, email)
    run_jobs()
    return response


def test_the_reset_email_arrives_and_its_link_works_once(
    user, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    response = requested(APIClient(), "  ALICE@example.com ", django_capture_on_commit_callbacks, run_jobs)

    assert response.status_code == 202
    (message,) = inbox.messages
    assert message["To"] == "alice@example.com" and message["Subject"] == "Reset your SkillQuest password"
    assert message.get_content_type() == "multipart/alternative"
    assert "1 hour" in part_of(message, "plain")
    link = inbox.only_link_to("alice@example.com")
    assert link.startswith("https://quest.example.com/accounts/password/reset/")
    uid, token = link_parts(link)

    assert confirm(uid, token).status_code == 204
    assert log_in("alice", NEW_PASSWORD).status_code == 200
    assert log_in("alice", password).status_code == 401
    again = confirm(uid, token, "Another-Pass-888")
    assert again.status_code == 400 and again.json()["code"] == "invalid_token"
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_a_reset_ends_every_device_and_session(
    user, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    phone = log_in("alice", password).json()
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "alice", "password": password}).status_code == 302
    requested(APIClient(), "alice@example.com", django_capture_on_commit_callbacks, run_jobs)

    assert confirm(*link_parts(inbox.only_link_to("alice@example.com"))).status_code == 204

    refreshed = APIClient().post(f"{API}/refresh", {"refresh_token": phone["refresh_token"]}, format="json")
    assert refreshed.status_code == 401
    stale = APIClient()
    stale.credentials(HTTP_AUTHORIZATION=f"Bearer {phone['access_token']}")
    assert stale.get(f"{API}/me").status_code == 401
    assert browser.get("/accounts/profile/").status_code == 302


def test_an_expired_link_fails(user, settings):
    class TwoHoursAgo(PasswordResetTokenGenerator):
        def _now(self):
            return datetime.now() - timedelta(hours=2)

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    old_token = TwoHoursAgo().make_token(user)

    response = confirm(uid, old_token)

    assert response.status_code == 400 and response.json()["code"] == "invalid_token"
    settings.PASSWORD_RESET_TIMEOUT = 3 * 3600  # the same token inside a longer validity works
    assert confirm(uid, old_token).status_code == 204


def test_unknown_addresses_get_the_same_answer_and_no_mail(
    user, inbox, run_jobs, django_capture_on_commit_callbacks
):
    known = requested(APIClient(), "alice@example.com", django_capture_on_commit_callbacks, run_jobs)
    unknown = requested(APIClient(), "nobody@example.com", django_capture_on_commit_callbacks, run_jobs)

    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [m["To"] for m in inbox.messages] == ["alice@example.com"]


def test_unknown_addresses_take_as_long_as_known_ones(user, django_capture_on_commit_callbacks):
    """Both do the same work in the request (schedule one job); the lookup happens on the worker."""
    client = APIClient()
    timings: dict[str, list[float]] = {"alice@example.com": [], "nobody@example.com": []}
    for _ in range(25):
        for address, samples in timings.items():
            with django_capture_on_commit_callbacks(execute=True):
                started = time.perf_counter()
                assert ask_reset(client, address).status_code == 202
                samples.append(time.perf_counter() - started)
    known, unknown = (statistics.median(samples) for samples in timings.values())
    assert abs(known - unknown) < 0.25 * max(known, unknown) + 0.001, (known, unknown)


def test_a_weak_new_password_is_400_with_reasons_and_the_link_still_works(
    user, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    requested(APIClient(), "alice@example.com", django_capture_on_commit_callbacks, run_jobs)
    uid, token = link_parts(inbox.only_link_to("alice@example.com"))

    response = confirm(uid, token, "alice")

    assert response.status_code == 400 and response.json()["new_password"]
    assert log_in("alice", password).status_code == 200
    assert confirm(uid, token).status_code == 204


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("not-base64!", "abc-def"),
        (urlsafe_base64_encode(b"not-a-uuid"), "abc-def"),
        ("", ""),
        ("x" * 64, "y"),
    ],
)
def test_a_forged_or_malformed_link_is_400(user, uid, token):
    response = confirm(uid, token)
    assert response.status_code == 400
    body = response.json()
    assert body.get("code") == "invalid_token" or set(body) <= {"uid", "token"}


def test_a_forged_token_for_a_real_player_is_400_invalid_token(user):
    response = confirm(urlsafe_base64_encode(force_bytes(user.pk)), "cbd6kz-0123456789abcdef0123456789abcdef")
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"email": ["a@b.c"]}])
def test_a_reset_request_without_an_address_is_400(body):
    assert APIClient().post(f"{API}/password-reset", body, format="json").status_code == 400


def test_players_who_cannot_sign_in_get_no_mail(user, inbox, run_jobs, django_capture_on_commit_callbacks):
    User.objects.filter(pk=user.pk).update(is_active=False)
    requested(APIClient(), "alice@example.com", django_capture_on_commit_callbacks, run_jobs)
    assert inbox.messages == []


def test_reset_requests_are_limited_per_ip_and_per_address(user, rates):
    rates(password_reset="2/hour")
    client = APIClient()
    assert ask_reset(client, "alice@example.com", REMOTE_ADDR="10.9.0.1").status_code == 202
    assert ask_reset(client, "alice@example.com", REMOTE_ADDR="10.9.0.2").status_code == 202
    # A third for that address from a fresh IP: the address's limit.
    refused = ask_reset(client, "alice@example.com", REMOTE_ADDR="10.9.0.3")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    # The IP that asked twice is spent for any address; another address from a fresh IP is not.
    assert ask_reset(client, "nobody@example.com", REMOTE_ADDR="10.9.0.1").status_code == 202
    assert ask_reset(client, "nobody@example.com", REMOTE_ADDR="10.9.0.1").status_code == 429
    assert ask_reset(client, "carol@example.com", REMOTE_ADDR="10.9.0.4").status_code == 202


def test_the_reset_pages_take_a_player_from_the_login_page_to_a_new_password(
    user, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    browser = Client()
    assert b"Forgot your password?" in browser.get("/accounts/login/").content
    assert browser.get("/accounts/password/reset/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        sent = browser.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert sent.status_code == 302 and sent["Location"] == "/accounts/password/reset/sent/"
    run_jobs()
    path = urlsplit(inbox.only_link_to("alice@example.com")).path

    opened = browser.get(path)  # Django moves the token out of the URL into the session
    assert opened.status_code == 302 and opened["Location"].endswith("/set-password/")
    weak = browser.post(opened["Location"], {"new_password1": "alice", "new_password2": "alice"})
    assert weak.status_code == 400
    done = browser.post(opened["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/complete/"
    assert log_in("alice", NEW_PASSWORD).status_code == 200

    reused = Client().get(path, follow=True)
    assert reused.status_code == 200 and b"This link does not work" in reused.content


def test_the_reset_page_answers_unknown_addresses_the_same_and_is_limited(user, rates):
    rates(password_reset="1/hour")
    browser = Client(REMOTE_ADDR="10.9.1.1")
    assert browser.post("/accounts/password/reset/", {"email": "nobody@example.com"}).status_code == 302
    refused = Client(REMOTE_ADDR="10.9.1.1").post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert refused.status_code == 429 and b"Too many reset requests" in refused.content
    invalid = Client(REMOTE_ADDR="10.9.1.2").post("/accounts/password/reset/", {"email": "nope"})
    assert invalid.status_code == 400
