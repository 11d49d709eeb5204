"""The account pages in Chromium: forgot password (by real email) and delete my account."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from accounts.tests.emails.conftest import inbox, run_jobs  # noqa: F401  (fixtures: SMTP server, worker)
from progress.tests.browser.support import assert_accessible, check_layout

pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.django_db(transaction=True)]

PASSWORD = "Sturdy-Pass-991-x"
NEW_PASSWORD = "Fresh-Pass-2026-y"


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_player_who_forgot_their_password_resets_it_from_the_emailed_link(
    page,
    live_server,
    inbox,  # noqa: F811 (the imported fixture)
    run_jobs,  # noqa: F811 (the imported fixture)
):
    User.objects.create_user(username="forgetful", email="forgetful@example.com", password=PASSWORD)
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(live_server.url + reverse("accounts:password-reset"))
    assert_accessible(page, "password-reset")
    check_layout(page, "password-reset")
    page.get_by_label("Email").fill("forgetful@example.com")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_url(live_server.url + reverse("accounts:password-reset-sent"))
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    assert_accessible(page, "password-reset-sent")

    run_jobs()  # the worker sends the mail to the SMTP server
    link = inbox.only_link_to("forgetful@example.com")
    page.goto(live_server.url + urlsplit(link).path)
    page.wait_for_url("**/set-password/")  # the token left the address bar
    assert_accessible(page, "password-reset-confirm")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    page.wait_for_url(live_server.url + reverse("accounts:password-reset-complete"))
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    assert_accessible(page, "password-reset-complete")

    page.goto(live_server.url + urlsplit(link).path)  # a second use of the link
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    log_in(page, live_server, "forgetful", NEW_PASSWORD)
    page.wait_for_url(live_server.url + "/")


def test_a_player_deletes_their_account_and_cannot_sign_in_again(page, live_server):
    User.objects.create_user(username="leaver", email="leaver@example.com", password=PASSWORD)
    log_in(page, live_server, "leaver", PASSWORD)
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + reverse("accounts:profile-edit"))
    page.get_by_role("link", name="Delete my account…").click()
    page.wait_for_url(live_server.url + reverse("accounts:delete"))
    assert_accessible(page, "account-delete")
    check_layout(page, "account-delete")

    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_text("The password is not correct.")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account for good").click()
    page.wait_for_url(live_server.url + "/")
    expect(page.get_by_text("Your account is deleted.")).to_be_visible()

    assert not User.objects.filter(username="leaver").exists()
    log_in(page, live_server, "leaver", PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()  # refused: the login form stays with its error
