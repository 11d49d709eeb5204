"""The audit log: every staff action that changes state leaves one entry, in its own transaction,
with who, what, the fields that changed and the request it came from; staff read it in the API."""

from __future__ import annotations

import pytest
from django.test import Client

from challenges.models import Challenge, Tag
from challenges.tests.helpers import make_challenge
from progress.models import Badge, UserBadge
from skillquest.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/admin/audit"


def _only(action: str) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, [entry.action for entry in AuditEntry.objects.all()]
    return entries[0]


@pytest.fixture
def superuser_client(staff_user) -> Client:
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    return client


class TestXp:
    def test_a_grant_is_audited_with_its_request_id(self, staff_client, staff_user, user):
        staff_client.post(
            "/api/v1/admin/xp-grants",
            {"user_id": str(user.pk), "amount": 30, "reason": "Helped a newcomer"},
            format="json",
            HTTP_X_REQUEST_ID="req-audit-0001",
        )
        entry = _only("xp.grant")
        assert (entry.actor_id, entry.actor_username) == (staff_user.pk, staff_user.username)
        assert (entry.target_type, entry.target_id, entry.request_id) == (
            "accounts.user",
            str(user.pk),
            "req-audit-0001",
        )
        assert entry.changes["total_xp"] == {"before": 0, "after": 30}
        assert (entry.changes["amount"], entry.changes["reason"]) == (30, "Helped a newcomer")

    def test_a_refused_revocation_leaves_no_entry(self, staff_client, user):
        response = staff_client.post(
            "/api/v1/admin/xp-grants", {"user_id": str(user.pk), "amount": -1, "reason": "x"}, format="json"
        )
        assert response.status_code == 409
        assert not AuditEntry.objects.exists()

    @pytest.mark.parametrize(("dry_run", "action"), [(True, "recalc.dry_run"), (False, "recalc.apply")])
    def test_a_recalculation_is_audited_with_its_run(
        self, staff_client, staff_user, settings, dry_run, action
    ):
        settings.JOBS_IN_PROCESS = True
        job_id = staff_client.post("/api/v1/admin/recalc-xp", {"dry_run": dry_run}, format="json").json()[
            "job_id"
        ]
        result = staff_client.get(f"/api/v1/admin/jobs/{job_id}").json()["result"]
        entry = _only(action)
        assert (entry.actor_id, entry.target_type, entry.target_id) == (
            staff_user.pk,
            "progress.recalculation",
            result["run_id"],
        )
        assert entry.changes == {"players_changed": 0, "xp_delta_total": 0, "projections_repaired": 0}


class TestChallenges:
    def test_create_update_and_delete_through_the_api(self, staff_client, staff_user):
        created = staff_client.post(
            "/api/v1/challenges/",
            {"title": "Audited", "slug": "audited", "xp": 10, "grading": {"type": "self_reported"}},
            format="json",
        ).json()
        assert _only("challenge.create").changes["xp"] == {"before": None, "after": 10}
        staff_client.patch(f"/api/v1/challenges/{created['id']}/", {"xp": 25}, format="json")
        update = _only("challenge.update")
        assert update.changes == {"xp": {"before": 10, "after": 25}}  # only what changed
        assert (update.target_type, update.target_id, update.actor_id) == (
            "challenges.challenge",
            created["id"],
            staff_user.pk,
        )
        staff_client.patch(f"/api/v1/challenges/{created['id']}/", {"xp": 25}, format="json")
        assert AuditEntry.objects.filter(action="challenge.update").count() == 1  # no change, no entry
        staff_client.delete(f"/api/v1/challenges/{created['id']}/")
        assert _only("challenge.delete").changes["title"] == {"before": "Audited", "after": None}

    def test_publish_and_unpublish_in_the_admin_audit_each_changed_challenge(self, superuser_client):
        drafts = [make_challenge(published=False) for _ in range(2)]
        live = make_challenge(published=True)
        selected = [str(challenge.pk) for challenge in [*drafts, live]]
        superuser_client.post(
            "/admin/challenges/challenge/", {"action": "publish", "_selected_action": selected}
        )
        published = AuditEntry.objects.filter(action="challenge.publish")
        assert {entry.target_id for entry in published} == {str(challenge.pk) for challenge in drafts}
        assert {entry.changes["published"]["after"] for entry in published} == {True}

    def test_an_admin_edit_records_the_changed_fields_and_tags(self, superuser_client):
        challenge = make_challenge(title="Before", xp=40)
        tag = Tag.objects.create(name="SQL", slug="sql")
        response = superuser_client.post(
            f"/admin/challenges/challenge/{challenge.pk}/change/",
            {
                "title": "After",
                "slug": challenge.slug,
                "description": "",
                "xp": "40",
                "difficulty": challenge.difficulty,
                "pass_score": str(challenge.pass_score),
                "grading": '{"type": "self_reported"}',
                "tags": [str(tag.pk)],
                "published": "on",
            },
        )
        assert response.status_code == 302, response.content
        entry = _only("challenge.update")
        assert entry.changes == {
            "title": {"before": "Before", "after": "After"},
            "tags": {"before": [], "after": ["SQL"]},
        }

    def test_an_admin_delete_is_audited(self, superuser_client):
        challenge = make_challenge()
        superuser_client.post(f"/admin/challenges/challenge/{challenge.pk}/delete/", {"post": "yes"})
        assert not Challenge.objects.filter(pk=challenge.pk).exists()
        assert _only("challenge.delete").target_id == str(challenge.pk)


class TestBadges:
    def test_create_update_and_delete_through_the_api(self, staff_client):
        body = {"name": "Audited", "slug": "audited", "condition": {"type": "xp", "threshold": 10}}
        badge = staff_client.post("/api/v1/badges/", body, format="json").json()
        assert _only("badge.create").target_id == badge["id"]
        staff_client.patch(
            f"/api/v1/badges/{badge['id']}/", {"condition": {"type": "xp", "threshold": 20}}, format="json"
        )
        assert _only("badge.update").changes == {
            "condition": {"before": {"type": "xp", "threshold": 10}, "after": {"type": "xp", "threshold": 20}}
        }
        staff_client.delete(f"/api/v1/badges/{badge['id']}/")
        assert _only("badge.delete").changes["name"] == {"before": "Audited", "after": None}

    def test_a_badge_that_cannot_be_deleted_leaves_no_entry(self, staff_client, user):
        badge = Badge.objects.create(name="Held", slug="held", condition={"type": "xp", "threshold": 1})
        UserBadge.objects.create(user=user, badge=badge)
        assert staff_client.delete(f"/api/v1/badges/{badge.pk}/").status_code == 409
        assert not AuditEntry.objects.exists()

    def test_a_re_evaluation_from_the_admin_is_audited(self, superuser_client, user, settings):
        settings.JOBS_IN_PROCESS = True
        superuser_client.post(
            "/admin/accounts/user/", {"action": "reevaluate_user_badges", "_selected_action": [str(user.pk)]}
        )
        entry = _only("badge.reevaluate")
        assert (entry.target_id, entry.changes) == (str(user.pk), {"players": 1})


class TestApi:
    @pytest.fixture
    def log(self, staff_client, staff_user, user, other_user):
        for player, amount in ((user, 5), (other_user, 7), (user, 9)):
            staff_client.post(
                "/api/v1/admin/xp-grants",
                {"user_id": str(player.pk), "amount": amount, "reason": "r"},
                format="json",
            )
        make_challenge()  # a model write, not a staff action: no entry

    def test_staff_read_the_log_newest_first(self, staff_client, log):
        body = staff_client.get(AUDIT).json()
        assert body["count"] == 3
        assert [entry["changes"]["amount"] for entry in body["results"]] == [9, 7, 5]

    def test_filters_by_action_actor_and_target(self, staff_client, staff_user, user, other_user, log):
        assert staff_client.get(AUDIT, {"target_id": str(user.pk)}).json()["count"] == 2
        assert staff_client.get(AUDIT, {"action": "xp.grant"}).json()["count"] == 3
        assert staff_client.get(AUDIT, {"action": "xp.revoke"}).json()["count"] == 0
        assert staff_client.get(AUDIT, {"actor": str(staff_user.pk)}).json()["count"] == 3
        assert staff_client.get(AUDIT, {"actor": str(other_user.pk)}).json()["count"] == 0

    def test_a_malformed_actor_is_400(self, staff_client):
        response = staff_client.get(AUDIT, {"actor": "not-a-uuid"})
        assert response.status_code == 400
        assert "actor" in response.json()

    def test_anonymous_is_401_and_a_player_403(self, api_client, auth_client):
        assert api_client.get(AUDIT).status_code == 401
        assert auth_client.get(AUDIT).status_code == 403

    def test_the_page_costs_a_fixed_number_of_queries(self, staff_client, log, django_assert_max_num_queries):
        with django_assert_max_num_queries(4):
            assert staff_client.get(AUDIT).status_code == 200
