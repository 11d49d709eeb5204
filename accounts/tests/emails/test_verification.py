"""Email verification: the mail a new player gets, the link, resending, and a changed address."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.emails.tokens import verification_token
from accounts.models import User

pytestmark = pytest.mark.django_db
API = "/api/v1/auth"
PASSWORD = "Sturdy-Pass-991"


def register(username: str, email: str, capture) -> dict:
    with capture(execute=True):
        response = APIClient().post(
            f"{API}/register", {"username": username, "email": email, "password": PASSWORD}, format="json"
        )
    assert response.status_code == 201, response.content
    return response.json()


def signed_in(username: str) -> APIClient:
    tokens = (
        APIClient().post(f"{API}/login", {"username": username, "password": PASSWORD}, format="json").json()
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


def token_of(link: str) -> str:
    return urlsplit(link).path.rstrip("/").rsplit("/", 1)[1]


def verify(token: str):
    return APIClient().post(f"{API}/verify-email", {"token": token}, format="json")


def test_a_new_player_gets_a_link_that_verifies_their_address(
    inbox, run_jobs, django_capture_on_commit_callbacks
):
    register("carol", "Carol@Example.com", django_capture_on_commit_callbacks)
    carol = signed_in("carol")
    assert carol.get(f"{API}/me").json()["email_verified"] is False

    run_jobs()

    (message,) = inbox.messages
    assert message["Subject"] == "Confirm your email address for SkillQuest"
    link = inbox.only_link_to("Carol@example.com")
    assert link.startswith("https://quest.example.com/accounts/verify-email/")
    assert verify(token_of(link)).status_code == 204
    assert carol.get(f"{API}/me").json()["email_verified"] is True
    assert verify(token_of(link)).status_code == 204  # following it twice changes nothing
    assert User.objects.get(username="carol").email_verified_at is not None


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "x" * 512,
        verification_token(user_id=uuid.UUID("00000000-0000-4000-8000-000000000001"), email="a@b.c"),
    ],
    ids=["forged", "too-long", "no-such-player"],
)
def test_a_forged_or_unknown_token_is_400(token):
    response = verify(token)
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


def test_a_missing_token_is_400():
    assert APIClient().post(f"{API}/verify-email", {}, format="json").status_code == 400


def test_an_expired_link_fails(user, settings):
    token = verification_token(user_id=user.pk, email=user.email)
    settings.EMAIL_VERIFICATION_TIMEOUT = -1
    response = verify(token)
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"


def change_email(client: APIClient, email: str, capture, password: str = PASSWORD):
    with capture(execute=True):
        return client.patch(f"{API}/me", {"email": email, "current_password": password}, format="json")


def test_a_new_address_replaces_the_old_one_only_when_its_link_is_followed(
    inbox, run_jobs, django_capture_on_commit_callbacks
):
    register("dave", "dave@example.com", django_capture_on_commit_callbacks)
    run_jobs()
    old_link = inbox.only_link_to("dave@example.com")
    assert verify(token_of(old_link)).status_code == 204
    dave = signed_in("dave")
    inbox.messages.clear()

    assert change_email(dave, "dave@new.example.com", django_capture_on_commit_callbacks).status_code == 200
    run_jobs()

    me = dave.get(f"{API}/me").json()
    assert (me["email"], me["pending_email"], me["email_verified"]) == (
        "dave@example.com",
        "dave@new.example.com",
        True,
    )
    (notice,) = inbox.to("dave@example.com")  # the old address is told, and keeps working meanwhile
    assert notice["Subject"] == "Your SkillQuest email address is being changed"
    assert "dave@new.example.com" in notice.get_body(preferencelist=("plain",)).get_content()
    assert signed_in("dave@example.com").get(f"{API}/me").status_code == 200  # log in by the old address

    assert verify(token_of(inbox.only_link_to("dave@new.example.com"))).status_code == 204
    me = dave.get(f"{API}/me").json()
    assert (me["email"], me["pending_email"], me["email_verified"]) == ("dave@new.example.com", "", True)
    assert verify(token_of(old_link)).json()["code"] == "invalid_token"  # that address is not his now


def test_a_new_address_someone_took_meanwhile_is_409_and_nothing_changes(
    user, auth_client, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    assert (
        change_email(
            auth_client, "shared@example.com", django_capture_on_commit_callbacks, password
        ).status_code
        == 200
    )
    run_jobs()
    User.objects.create_user(username="quick", email="Shared@example.com", password=PASSWORD)

    response = verify(token_of(inbox.only_link_to("shared@example.com")))

    assert response.status_code == 409 and response.json()["code"] == "email_taken"
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("alice@example.com", "shared@example.com")


def test_asking_for_the_current_address_again_withdraws_the_change(
    user, auth_client, password, django_capture_on_commit_callbacks
):
    change_email(auth_client, "other@example.com", django_capture_on_commit_callbacks, password)
    user.refresh_from_db()
    response = auth_client.patch(f"{API}/me", {"email": "alice@example.com"}, format="json")
    assert response.status_code == 200 and response.json()["pending_email"] == ""
    token = verification_token(user_id=user.pk, email="other@example.com")
    assert verify(token).json()["code"] == "invalid_token"


def test_saving_the_same_address_keeps_it_verified(user, auth_client, django_capture_on_commit_callbacks):
    assert verify(verification_token(user_id=user.pk, email=user.email)).status_code == 204
    user.refresh_from_db()  # the instance auth_client is forced to (a real request reloads it)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.patch(f"{API}/me", {"email": "ALICE@example.com"}, format="json")
    assert response.status_code == 200 and response.json()["email_verified"] is True
    assert callbacks == []


def test_a_player_can_ask_for_the_link_again_until_verified(
    user, auth_client, inbox, run_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(f"{API}/verify-email/resend")
    run_jobs()
    assert response.status_code == 202 and "alice@example.com" in response.json()["detail"]
    assert verify(token_of(inbox.only_link_to("alice@example.com"))).status_code == 204
    user.refresh_from_db()  # the instance auth_client is forced to (a real request reloads it)

    again = auth_client.post(f"{API}/verify-email/resend")
    assert again.status_code == 409 and again.json()["code"] == "email_already_verified"


def test_resending_needs_a_signed_in_player_and_is_limited(user, auth_client, rates):
    assert APIClient().post(f"{API}/verify-email/resend").status_code == 401
    rates(verify_email="1/hour")
    assert auth_client.post(f"{API}/verify-email/resend").status_code == 202
    assert auth_client.post(f"{API}/verify-email/resend").status_code == 429


def test_the_link_opens_a_page_whose_button_verifies(user, password):
    token = verification_token(user_id=user.pk, email=user.email)
    browser = Client()
    page = browser.get(f"/accounts/verify-email/{token}/")
    assert page.status_code == 200 and b"Confirm my address" in page.content
    user.refresh_from_db()
    assert not user.email_verified  # opening the link (a mail scanner) verifies nothing

    done = browser.post(f"/accounts/verify-email/{token}/")
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.email_verified

    bad = browser.post("/accounts/verify-email/forged/")
    assert bad.status_code == 400 and b"invalid or has expired" in bad.content


def test_the_profile_page_offers_to_send_the_link_again(
    user, password, inbox, run_jobs, django_capture_on_commit_callbacks
):
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "alice", "password": password}).status_code == 302
    assert b"Send the link again" in browser.get("/accounts/profile/").content
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post("/accounts/verify-email/resend/").status_code == 302
    run_jobs()
    assert verify(token_of(inbox.only_link_to("alice@example.com"))).status_code == 204
    assert b"is verified" in browser.get("/accounts/profile/").content
