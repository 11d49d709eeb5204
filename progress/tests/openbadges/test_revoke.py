"""Staff revoke a badge award with a reason (POST /api/v1/admin/badge-awards/{id}/revoke and the admin
action): its assertion answers 410, the player no longer holds the badge, and the award stays."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from progress.badges.rarity import badge_rarity_refresh
from progress.badges.services import badges_evaluate
from progress.models import Badge, UserBadge
from progress.openbadges.services import badge_award_revoke
from skillquest.audit.models import AuditEntry
from skillquest.errors import InvalidInput

pytestmark = pytest.mark.django_db


def _revoke_url(award_id) -> str:
    return f"/api/v1/admin/badge-awards/{award_id}/revoke"


def test_staff_revoke_an_award_and_its_assertion_answers_410_with_the_reason(
    staff_client, staff_user, client, award, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(_revoke_url(award.pk), {"reason": " Shared the answers "}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(award.pk)
    assert body["revocation_reason"] == "Shared the answers"
    assert body["revoked_at"] is not None
    assert body["assertion_url"].endswith(f"/ob/assertions/{award.assertion_id}")
    award.refresh_from_db()
    assert (award.revoked_by, award.revocation_reason) == (staff_user, "Shared the answers")

    gone = client.get(f"/ob/assertions/{award.assertion_id}")
    assert gone.status_code == 410
    assert gone.json()["revoked"] is True
    assert gone.json()["revocationReason"] == "Shared the answers"
    assert gone.json()["id"] == body["assertion_url"]
    baked = client.get(f"/ob/assertions/{award.assertion_id}.png")
    assert baked.status_code == 410
    assert baked.json()["revoked"] is True

    entry = AuditEntry.objects.get(action="badge_award.revoke")
    assert (entry.actor, entry.target_id) == (staff_user, str(award.pk))
    assert entry.changes["revocation_reason"] == {"before": "", "after": "Shared the answers"}
    assert entry.changes["badge"] == award.badge.slug


def test_a_revoked_secret_badge_class_is_gone_too(staff_client, client, make_award):
    award = make_award(secret=True, name="Night Owl")
    assert staff_client.post(_revoke_url(award.pk), {"reason": "Mistake"}, format="json").status_code == 200
    for path in ("/badge", "/badge.png"):
        assert client.get(f"/ob/assertions/{award.assertion_id}{path}").status_code == 410


def test_a_revoked_award_is_not_held_anywhere_but_stays_on_record(
    staff_client, api_client, client, award, verified
):
    staff_client.post(_revoke_url(award.pk), {"reason": "Mistake"}, format="json")
    assert api_client.get(f"/api/v1/users/{verified.pk}/badges").json() == []
    progress = api_client.get(f"/api/v1/users/{verified.pk}/progress").json()
    assert progress["badges"] == []
    # Not offered as locked either: the rules will not award it again.
    assert award.badge.slug not in {item["badge"]["slug"] for item in progress["badge_progress"]}
    page = client.get(f"/u/{verified.username}/").content.decode()
    assert "First Steps" not in page
    assert UserBadge.objects.filter(pk=award.pk).exists()


def test_the_rules_do_not_award_a_revoked_badge_again(staff_client, award, verified):
    User.objects.filter(pk=verified.pk).update(total_xp=500)
    staff_client.post(_revoke_url(award.pk), {"reason": "Mistake"}, format="json")
    assert badges_evaluate(user_ids=[verified.pk]) == []
    assert UserBadge.objects.filter(user=verified).count() == 1


def test_a_revoked_award_no_longer_counts_towards_rarity(staff_client, award, verified):
    User.objects.filter(pk=verified.pk).update(total_xp=500)
    badge_rarity_refresh()
    assert Badge.objects.get(pk=award.badge_id).earned_by_percent == 100.0
    staff_client.post(_revoke_url(award.pk), {"reason": "Mistake"}, format="json")
    badge_rarity_refresh()
    assert Badge.objects.get(pk=award.badge_id).earned_by_percent == 0.0


def test_revoking_twice_is_409_and_the_first_reason_stands(staff_client, award):
    staff_client.post(_revoke_url(award.pk), {"reason": "First"}, format="json")
    response = staff_client.post(_revoke_url(award.pk), {"reason": "Second"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "badge_award_revoked"
    award.refresh_from_db()
    assert award.revocation_reason == "First"
    assert AuditEntry.objects.filter(action="badge_award.revoke").count() == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_a_reason_is_required_and_bounded(staff_client, award, body):
    response = staff_client.post(_revoke_url(award.pk), body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    award.refresh_from_db()
    assert award.revoked_at is None


@pytest.mark.parametrize("award_id", [uuid.uuid4(), "not-a-uuid"])
def test_an_unknown_award_is_404(staff_client, award_id):
    response = staff_client.post(_revoke_url(award_id), {"reason": "Mistake"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "badge_award_not_found"


def test_players_and_anonymous_may_not_revoke(auth_client, api_client, award):
    assert auth_client.post(_revoke_url(award.pk), {"reason": "x"}, format="json").status_code == 403
    assert api_client.post(_revoke_url(award.pk), {"reason": "x"}, format="json").status_code == 401
    award.refresh_from_db()
    assert award.revoked_at is None


@pytest.mark.django_db(transaction=True)
def test_of_two_racing_revocations_exactly_one_wins(award, staff_user):
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def revoke(reason: str) -> None:
        client = APIClient()
        client.force_authenticate(staff_user)
        try:
            barrier.wait()
            statuses.append(client.post(_revoke_url(award.pk), {"reason": reason}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke, args=(reason,)) for reason in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
    assert AuditEntry.objects.filter(action="badge_award.revoke").count() == 1


def test_the_admin_revokes_selected_awards_with_a_reason(admin_client, award, client):
    changelist = "/admin/progress/userbadge/"
    asked = admin_client.post(changelist, {"action": "revoke_awards", "_selected_action": [award.pk]})
    assert asked.status_code == 200
    assert b"Revoke badge awards" in asked.content
    done = admin_client.post(
        changelist,
        {"action": "revoke_awards", "_selected_action": [award.pk], "apply": "1", "reason": "Cheated"},
    )
    assert done.status_code == 302
    award.refresh_from_db()
    assert award.revocation_reason == "Cheated"
    assert AuditEntry.objects.get(action="badge_award.revoke").target_id == str(award.pk)
    assert client.get(f"/ob/assertions/{award.assertion_id}").status_code == 410
    # No award leaves silently: the admin neither deletes nor edits them.
    assert admin_client.post(f"{changelist}{award.pk}/delete/", {"post": "yes"}).status_code == 403
    assert UserBadge.objects.filter(pk=award.pk).exists()


def test_the_service_refuses_a_blank_reason(award, staff_user):
    with pytest.raises(InvalidInput):
        badge_award_revoke(award_id=award.pk, reason=" ", actor=staff_user)
