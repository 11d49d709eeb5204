"""`/api/v1/admin/api-keys`: staff issue (shown once, stored hashed), list, read and revoke keys; and the
Django admin does the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.ingest.services import api_key_create
from challenges.models import ApiKey
from skillquest.audit.models import AuditEntry

KEYS = "/api/v1/admin/api-keys"


def test_staff_issue_a_key_shown_once_and_stored_hashed(staff_client, staff_user):
    response = staff_client.post(KEYS, {"name": "LMS", "scopes": ["read", "ingest"]}, format="json")

    assert response.status_code == 201, response.content
    issued = response.json()
    secret = issued["key"]
    prefix, _, rest = secret.partition(".")
    assert issued["id"] == prefix and len(rest) == 32
    assert (issued["name"], issued["scopes"], issued["revoked"]) == ("LMS", ["ingest", "read"], False)
    assert issued["created_by"] == "staff"
    stored = ApiKey.objects.get(prefix=prefix)
    assert secret not in {stored.pk, stored.hashed_key} and stored.hashed_key.startswith("sha512$$")
    assert stored.is_valid(secret)
    entry = AuditEntry.objects.get(action="api_key.create")
    assert (entry.actor, entry.target_id, entry.changes["scopes"]) == (staff_user, prefix, ["ingest", "read"])
    assert secret not in str(entry.changes)
    assert "key" not in staff_client.get(f"{KEYS}/{prefix}").json()  # never shown again


def test_the_list_shows_no_secret_and_no_hash(staff_client, staff_user):
    api_key, secret = api_key_create(name="LMS", scopes=["ingest"], actor=staff_user)
    response = staff_client.get(KEYS)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [api_key.prefix]
    assert secret not in response.content.decode() and api_key.hashed_key not in response.content.decode()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "", "scopes": ["ingest"]}, "name"),
        ({"name": "x" * 51, "scopes": ["ingest"]}, "name"),
        ({"name": "LMS", "scopes": []}, "scopes"),
        ({"name": "LMS", "scopes": ["write"]}, "scopes"),
        ({"name": "LMS", "scopes": ["read", "read"]}, "scopes"),
        ({"name": "LMS"}, "scopes"),
        ({"name": "LMS", "scopes": ["read"], "expiry_date": "2001-01-01T00:00:00Z"}, "expiry_date"),
    ],
)
def test_a_bad_key_request_is_400_naming_the_field(staff_client, payload, field):
    response = staff_client.post(KEYS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ApiKey.objects.exists()


def test_a_key_may_expire(staff_client):
    when = (timezone.now() + timedelta(days=30)).isoformat()
    response = staff_client.post(
        KEYS, {"name": "Term", "scopes": ["read"], "expiry_date": when}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["expiry_date"] is not None


def test_revoking_is_200_once_then_409(staff_client, staff_user):
    api_key, _ = api_key_create(name="LMS", scopes=["ingest"], actor=staff_user)
    first = staff_client.post(f"{KEYS}/{api_key.prefix}/revoke")
    assert (first.status_code, first.json()["revoked"]) == (200, True)
    assert first.json()["revoked_at"] is not None
    again = staff_client.post(f"{KEYS}/{api_key.prefix}/revoke")
    assert (again.status_code, again.json()["code"]) == (409, "api_key_revoked")
    assert AuditEntry.objects.filter(action="api_key.revoke", target_id=api_key.prefix).count() == 1


def test_an_unknown_key_is_404(staff_client, db):
    assert staff_client.get(f"{KEYS}/nosuchkey").status_code == 404
    assert staff_client.post(f"{KEYS}/nosuchkey/revoke").status_code == 404


@pytest.mark.parametrize(
    "method, path", [("get", KEYS), ("post", KEYS), ("get", f"{KEYS}/abc"), ("post", f"{KEYS}/abc/revoke")]
)
def test_anonymous_is_401_and_a_player_403(api_client, auth_client, method, path):
    assert getattr(api_client, method)(path).status_code == 401
    assert getattr(auth_client, method)(path).status_code == 403


def test_the_django_admin_issues_a_key_once_and_revokes_it(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    response = client.post(
        "/admin/challenges/apikey/add/", {"name": "From admin", "scopes": ["ingest"]}, follow=True
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    api_key = ApiKey.objects.get(name="From admin")
    assert api_key.scopes == ["ingest"] and api_key.created_by == staff_user
    secret = next(word for text in shown for word in text.split() if word.startswith(f"{api_key.prefix}."))
    assert api_key.is_valid(secret)
    client.post(
        "/admin/challenges/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
        follow=True,
    )
    api_key.refresh_from_db()
    assert api_key.revoked
    assert [entry.action for entry in AuditEntry.objects.order_by("created_at")] == [
        "api_key.create",
        "api_key.revoke",
    ]
    assert client.get("/admin/rest_framework_api_key/apikey/").status_code == 404  # the package's own: hidden
