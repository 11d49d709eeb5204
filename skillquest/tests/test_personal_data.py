"""Export my data and delete my account, across every app that holds rows about a player."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from model_bakery import baker
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.personal_data import registry
from accounts.personal_data.services import account_erase
from challenges.models import Attempt
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.boards.selectors import top
from progress.boards.services import rebuild, record_awards
from progress.ledger.services import xp_grant
from progress.models import Badge, UserBadge, XpEntry
from skillquest.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
API = "/api/v1/auth"
SOLUTION = "PLANTED-secret-answer-4411"
BIO = "PLANTED bio of alice"


def user_foreign_keys() -> set[tuple[str, str]]:
    return {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is User
    }


def test_every_foreign_key_to_the_user_is_exported_or_kept_on_purpose():
    """A new model with a user foreign key fails here until it registers a holding (or says why not)."""
    covered = {(h.model._meta.label, h.user_field) for h in registry.holdings()}
    covered |= {(k.model._meta.label, k.user_field) for k in registry.kept()}
    assert user_foreign_keys() - covered == set()


@pytest.fixture
def alice_everywhere(user, password, staff_user, django_capture_on_commit_callbacks):
    """Alice with a row in every holding: an answered attempt, XP entries, a badge, tokens, audit."""
    User.objects.filter(pk=user.pk).update(
        profile={"bio": BIO}, first_name="Alice", last_name="Liddell", pending_email="PLANTED-new@example.com"
    )
    user.refresh_from_db()
    challenge = make_challenge(xp=100)
    attempt = baker.make(
        Attempt,
        user=user,
        challenge=challenge,
        status=Attempt.Status.PASSED,
        score=90,
        xp_awarded=None,
        metadata={"solution": SOLUTION, "client": {"agent": "PLANTED-agent"}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        awards = awards_process(attempt_ids=[attempt.pk])
    record_awards(awards)
    xp_grant(user_id=user.pk, amount=5, reason="Helped at the meetup", actor=staff_user, idempotency_key="k1")
    badge = Badge.objects.create(name="First", slug="first", condition={"type": "xp", "threshold": 1})
    UserBadge.objects.get_or_create(user=user, badge=badge)
    APIClient().post(f"{API}/login", {"username": "alice", "password": password}, format="json")
    return user


def test_the_export_holds_every_kind_of_record(alice_everywhere, password):
    client = APIClient()
    tokens = client.post(f"{API}/login", {"username": "alice", "password": password}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = client.get(f"{API}/me/export")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert document["format"] == "skillquest-export/1"
    assert (
        document["account"]["email"] == "alice@example.com" and document["account"]["profile"]["bio"] == BIO
    )
    for holding in registry.holdings():
        assert holding.name in document
    assert document["attempts"][0]["metadata"]["solution"] == SOLUTION
    assert sorted(e["kind"] for e in document["xp_entries"]) == ["attempt", "grant"]
    assert [b["badge__slug"] for b in document["badges"]] == ["first"]
    assert len(document["sessions"]) == OutstandingToken.objects.filter(user=alice_everywhere).count() >= 2
    assert [a["action"] for a in document["audit_about_you"]] == ["xp.grant"]


def test_the_export_needs_a_signed_in_player():
    assert APIClient().get(f"{API}/me/export").status_code == 401


def test_the_export_streams_in_pieces(user, auth_client, settings):
    challenge = make_challenge()
    baker.make(Attempt, user=user, challenge=challenge, _quantity=2500, _bulk_create=True)
    response = auth_client.get(f"{API}/me/export")
    pieces = list(response.streaming_content)
    assert len(pieces) > 5  # rows arrive in chunks of CHUNK_ROWS, never as one document
    assert len(json.loads(b"".join(pieces))["attempts"]) == 2500


def personal_strings(user: User) -> list[str]:
    return [user.username, user.email, BIO, "Alice", "Liddell", SOLUTION, "PLANTED-agent", "PLANTED-new"]


def test_deletion_leaves_no_personal_field_behind_in_any_model_with_a_user_foreign_key(
    alice_everywhere, other_user, password, django_capture_on_commit_callbacks
):
    planted = personal_strings(alice_everywhere)
    with django_capture_on_commit_callbacks(execute=True):
        erased = account_erase(user=alice_everywhere)

    rows: list[Any] = [User.objects.filter(pk=erased.pk).values().get()]
    for model_label, field in user_foreign_keys():
        model = apps.get_model(model_label)
        rows += list(model._default_manager.filter(**{field: erased.pk}).values())
    rows += list(AuditEntry.objects.filter(target_id=str(erased.pk)).values())
    dumped = json.dumps(rows, default=str)
    for secret in planted:
        assert secret not in dumped, secret
    assert (
        erased.username.startswith("deleted-") and not erased.is_active and not erased.has_usable_password()
    )


def test_deletion_keeps_totals_ledger_and_others_ranks(
    alice_everywhere, other_user, django_capture_on_commit_callbacks
):
    bob_attempt = baker.make(
        Attempt, user=other_user, challenge=make_challenge(xp=40), status=Attempt.Status.PASSED, score=100
    )
    record_awards(awards_process(attempt_ids=[bob_attempt.pk]))
    total_before = User.objects.get(pk=alice_everywhere.pk).total_xp
    entries_before = XpEntry.objects.filter(user=alice_everywhere).count()

    with django_capture_on_commit_callbacks(execute=True):
        account_erase(user=alice_everywhere)

    erased = User.objects.get(pk=alice_everywhere.pk)
    assert erased.total_xp == total_before == 95
    assert XpEntry.objects.filter(user=erased).count() == entries_before
    assert Attempt.objects.filter(user=erased).get().score == 90
    board = top(period="all", limit=10, offset=0)
    assert [row.username for row in board.results] == ["bob"]  # alice gone at once, bob first now
    rebuild()
    assert [row.username for row in top(period="all", limit=10, offset=0).results] == ["bob"]


def test_deleting_my_account_by_the_api_needs_my_password_and_ends_every_way_in(
    user, password, django_capture_on_commit_callbacks
):
    client = APIClient()
    tokens = client.post(f"{API}/login", {"username": "alice", "password": password}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    wrong = client.delete(f"{API}/me", {"password": "not-it"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["password"]
    assert client.delete(f"{API}/me", {}, format="json").status_code == 400
    assert User.objects.get(pk=user.pk).is_active

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{API}/me", {"password": password}, format="json").status_code == 204

    assert client.get(f"{API}/me").status_code == 401
    refreshed = APIClient().post(f"{API}/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refreshed.status_code == 401
    assert (
        APIClient()
        .post(f"{API}/login", {"username": "alice", "password": password}, format="json")
        .status_code
        == 401
    )
    entry = AuditEntry.objects.get(action="account.erase")
    assert entry.target_id == str(user.pk) and entry.actor is None and entry.changes == {"by": "the player"}


def test_erasing_twice_is_refused(user):
    account_erase(user=user)
    with pytest.raises(Exception, match="already erased"):
        account_erase(user=User.objects.get(pk=user.pk))


def test_the_delete_page_asks_for_the_password_and_signs_out(
    user, password, django_capture_on_commit_callbacks
):
    browser = Client()
    assert browser.post("/accounts/login/", {"username": "alice", "password": password}).status_code == 302
    assert b"Delete my account" in browser.get("/accounts/profile/").content
    assert browser.get("/accounts/delete/").status_code == 200
    assert browser.post("/accounts/delete/", {"password": "wrong"}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post("/accounts/delete/", {"password": password})
    assert done.status_code == 302 and done["Location"] == "/"
    assert browser.get("/accounts/profile/").status_code == 302
    assert not User.objects.get(pk=user.pk).is_active


def test_staff_erase_an_account_from_the_admin_with_a_reason(
    user, staff_user, password, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=staff_user.pk).update(is_superuser=True)
    admin = Client()
    assert admin.post("/admin/login/", {"username": "staff", "password": password}).status_code == 302
    url = "/admin/accounts/user/"
    form = admin.post(url, {"action": "erase_accounts", "_selected_action": [str(user.pk)]})
    assert form.status_code == 200 and b"Erase accounts" in form.content
    with django_capture_on_commit_callbacks(execute=True):
        done = admin.post(
            url,
            {
                "action": "erase_accounts",
                "_selected_action": [str(user.pk)],
                "apply": "1",
                "reason": "GDPR request 17",
            },
        )
    assert done.status_code == 302
    erased = User.objects.get(pk=user.pk)
    assert erased.username.startswith("deleted-")
    entry = AuditEntry.objects.get(action="account.erase")
    assert entry.actor_id == staff_user.pk and entry.changes == {"by": "staff", "reason": "GDPR request 17"}
