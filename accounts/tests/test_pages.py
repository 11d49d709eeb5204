from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_signup_page_creates_user_and_logs_in(client):
    response = client.post(
        "/accounts/signup/", {"username": "erin", "email": "erin@example.com", "password": "Sturdy-Pass-991"}
    )
    assert response.status_code == 302
    assert User.objects.filter(username="erin").exists()
    assert client.get("/accounts/profile/").status_code == 200


def test_signup_errors_are_shown_next_to_fields(client, user):
    response = client.post("/accounts/signup/", {"username": "ALICE", "email": "bad", "password": "1"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_username_error"' in html
    assert 'id="id_email_error"' in html
    assert User.objects.count() == 1


def test_login_and_logout_pages(client, user, password):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/accounts/profile/").status_code == 302


def test_login_page_wrong_password_shows_error(client, user):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong-wrong"})
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()


def test_profile_edit_validates_email_uniqueness(client, user, other_user):
    client.force_login(user)
    response = client.post("/accounts/profile/", {"email": "BOB@example.com", "timezone": "UTC"})
    assert response.status_code == 400
    assert 'id="id_email_error"' in response.content.decode()


def test_profile_edit_saves(client, user, password):
    client.force_login(user)
    response = client.post(
        "/accounts/profile/",
        {
            "email": "a2@example.com",
            "current_password": password,
            "timezone": "Asia/Tokyo",
            "display_name": "Al",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.pending_email, user.timezone, user.profile["display_name"]) == (
        "a2@example.com",
        "Asia/Tokyo",
        "Al",
    )
    assert user.email == "alice@example.com"  # until the link mailed to a2@ is followed
    assert b"a2@example.com" in client.get("/accounts/profile/").content


def test_profile_edit_needs_the_password_to_change_the_email(client, user):
    client.force_login(user)
    response = client.post("/accounts/profile/", {"email": "a2@example.com", "timezone": "UTC"})
    assert response.status_code == 400 and 'id="id_current_password_error"' in response.content.decode()
    user.refresh_from_db()
    assert (user.email, user.pending_email) == ("alice@example.com", "")


def test_admin_user_changelist(client, staff_user, user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    response = client.get("/admin/accounts/user/?q=alice")
    assert response.status_code == 200
    assert "alice" in response.content.decode()
