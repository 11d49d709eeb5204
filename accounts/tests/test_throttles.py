"""Login and registration limits (accounts/throttles.py): per IP, per account, shared by every login."""

from __future__ import annotations

import pytest

from accounts.models import User
from skillquest.tests.helpers import assert_throttled

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/auth/login"


def login(client, username, password, ip):
    return client.post(LOGIN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip)


def test_login_is_limited_per_username_whatever_the_ip(rates, api_client, user, password):
    rates(login="3/minute")
    for n in range(3):
        assert login(api_client, "alice", "wrong-password", f"10.0.0.{n}").status_code == 401
    # Even the right password, from a fresh address, and spelled in another case, waits.
    assert_throttled(login(api_client, "ALICE", password, "10.0.0.99"))


def test_username_and_email_of_one_account_share_the_login_budget(rates, api_client, user, password):
    rates(login="2/minute")
    assert login(api_client, "alice", "wrong-password", "10.0.1.1").status_code == 401
    assert login(api_client, "Alice@Example.com", "wrong-password", "10.0.1.2").status_code == 401
    assert_throttled(login(api_client, "alice@example.com", password, "10.0.1.3"))
    # Names of no account are counted under the name, so they do not exhaust a real account's budget.
    assert login(api_client, "nobody", "wrong-password", "10.0.1.4").status_code == 401


def test_login_is_limited_per_ip_whatever_the_username(rates, api_client, user, password):
    rates(login="3/minute")
    for name in ["x1", "x2", "x3"]:
        assert login(api_client, name, "wrong-password", "10.1.1.1").status_code == 401
    assert_throttled(login(api_client, "alice", password, "10.1.1.1"))
    assert login(api_client, "alice", password, "10.1.1.2").status_code == 200


def test_successful_logins_count_too(rates, api_client, user, password):
    rates(login="2/minute")
    assert login(api_client, "alice", password, "10.2.0.1").status_code == 200
    assert login(api_client, "alice", password, "10.2.0.2").status_code == 200
    assert_throttled(login(api_client, "alice", password, "10.2.0.3"))


def test_login_form_shares_the_api_login_budget(rates, api_client, client, user, password):
    rates(login="3/minute")
    assert login(api_client, "alice", "wrong-password", "10.3.0.1").status_code == 401
    assert login(api_client, "alice", "wrong-password", "10.3.0.2").status_code == 401
    form = {"username": "alice", "password": "wrong-password"}
    assert client.post("/accounts/login/", form, REMOTE_ADDR="10.3.0.3").status_code == 200
    response = client.post("/accounts/login/", {**form, "password": password}, REMOTE_ADDR="10.3.0.4")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many login attempts" in response.content.decode()
    # The right password did not log in while the limit held.
    assert client.get("/accounts/profile/").status_code == 302
    assert_throttled(login(api_client, "alice", password, "10.3.0.5"))


def test_login_form_is_limited_per_ip(rates, client, user, password):
    rates(login="2/minute")
    for name in ["y1", "y2"]:
        client.post("/accounts/login/", {"username": name, "password": "nope-nope"}, REMOTE_ADDR="10.4.0.1")
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": password}, REMOTE_ADDR="10.4.0.1"
    )
    assert response.status_code == 429


def test_browsable_api_login_is_limited_too(rates, api_client, client, user, password):
    rates(login="2/minute")
    page = client.get("/api-auth/login/")
    assert page.status_code == 200
    assert login(api_client, "alice", "wrong-password", "10.4.1.1").status_code == 401
    assert login(api_client, "alice", "wrong-password", "10.4.1.2").status_code == 401
    response = client.post(
        "/api-auth/login/", {"username": "alice", "password": password}, REMOTE_ADDR="10.4.1.3"
    )
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_is_limited_too(rates, api_client, client, staff_user, password):
    rates(login="2/minute")
    assert login(api_client, "staff", "wrong-password", "10.4.2.1").status_code == 401
    response = client.post(
        "/admin/login/", {"username": "staff", "password": "wrong"}, REMOTE_ADDR="10.4.2.2"
    )
    assert response.status_code == 200
    response = client.post(
        "/admin/login/", {"username": "staff", "password": password}, REMOTE_ADDR="10.4.2.3"
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_register_is_limited_per_ip(rates, api_client):
    rates(register="2/hour")

    def register(name, ip):
        body = {"username": name, "email": f"{name}@example.com", "password": "Sturdy-Pass-991"}
        return api_client.post("/api/v1/auth/register", body, format="json", REMOTE_ADDR=ip)

    assert register("reg1", "10.5.0.1").status_code == 201
    assert register("reg2", "10.5.0.1").status_code == 201
    assert_throttled(register("reg3", "10.5.0.1"))
    assert not User.objects.filter(username="reg3").exists()
    assert register("reg3", "10.5.0.2").status_code == 201
