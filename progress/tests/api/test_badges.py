from __future__ import annotations

import uuid

import pytest
from model_bakery import baker

from progress.models import Badge, UserBadge

pytestmark = pytest.mark.django_db

BADGES = "/api/v1/badges"


@pytest.fixture
def first_steps(make_badge):
    return make_badge("First Steps", {"type": "attempt_count", "count": 1}, icon="👣", description="Hi")


@pytest.fixture
def retired(make_badge):
    return make_badge("Retired", {"type": "xp", "threshold": 5}, is_active=False)


class TestList:
    def test_anyone_sees_active_badges_with_conditions_in_words(self, api_client, first_steps, retired):
        response = api_client.get(BADGES)
        assert response.status_code == 200
        assert response.json() == [
            {
                "id": str(first_steps.id),
                "name": "First Steps",
                "slug": "first-steps",
                "description": "Hi",
                "icon": "👣",
                "condition": {"type": "attempt_count", "count": 1},
                "condition_description": "Pass 1 challenge attempt.",
                "secret": False,
                "earned_by_percent": 0.0,
            }
        ]

    def test_staff_also_see_inactive_badges(self, staff_client, first_steps, retired):
        response = staff_client.get(BADGES + "/")
        assert [badge["slug"] for badge in response.json()] == ["first-steps", "retired"]
        assert response.json()[1]["is_active"] is False

    def test_an_inactive_badge_is_404_for_players(self, auth_client, retired):
        assert auth_client.get(f"{BADGES}/{retired.id}").status_code == 404

    def test_unknown_and_malformed_ids_are_404(self, api_client):
        assert api_client.get(f"{BADGES}/{uuid.uuid4()}").status_code == 404
        assert api_client.get(f"{BADGES}/not-a-uuid").status_code == 404


class TestCreate:
    def test_staff_create_a_badge_with_a_generated_slug(self, staff_client):
        body = {
            "name": "SQL Adept",
            "icon": "🗄️",
            "condition": {"type": "challenges_completed", "count": 2, "tag": "SQL"},
        }
        response = staff_client.post(BADGES, body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["slug"] == "sql-adept"
        assert response.json()["condition_description"] == "Complete 2 challenges tagged 'sql'."
        assert Badge.objects.get(slug="sql-adept").condition == {
            "type": "challenges_completed",
            "count": 2,
            "tag": "sql",
        }

    def test_anonymous_writes_are_401(self, api_client):
        response = api_client.post(
            BADGES, {"name": "X", "condition": {"type": "xp", "threshold": 1}}, format="json"
        )
        assert response.status_code == 401

    def test_player_writes_are_403(self, auth_client):
        response = auth_client.post(
            BADGES, {"name": "X", "condition": {"type": "xp", "threshold": 1}}, format="json"
        )
        assert response.status_code == 403
        assert not Badge.objects.exists()

    @pytest.mark.parametrize(
        ("condition", "message"),
        [
            ({"type": "karma", "count": 1}, "Unknown condition type 'karma'"),
            ({"type": "xp"}, "'threshold' is required"),
            ({"type": "xp", "threshold": "lots"}, "'threshold' must be a whole number"),
            ({"type": "xp", "threshold": 0}, "'threshold' must be a positive number"),
            ({"type": "xp", "threshold": 5, "bonus": 1}, "Unknown key(s) 'bonus'"),
            ("xp", "must be a JSON object"),
        ],
    )
    def test_an_invalid_condition_is_a_400_on_the_field(self, staff_client, condition, message):
        response = staff_client.post(BADGES, {"name": "X", "condition": condition}, format="json")
        assert response.status_code == 400
        assert message in response.json()["condition"][0]
        assert not Badge.objects.exists()

    def test_missing_condition_duplicate_name_and_bad_icon_are_400(self, staff_client, first_steps):
        response = staff_client.post(BADGES, {"name": "First Steps", "icon": "not an emoji"}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"name", "condition", "icon"}
        assert response.json()["icon"] == ["The icon must be an emoji or an http(s) URL."]

    def test_a_duplicate_slug_is_400(self, staff_client, first_steps):
        body = {"name": "Other", "slug": "first-steps", "condition": {"type": "xp", "threshold": 1}}
        response = staff_client.post(BADGES, body, format="json")
        assert response.status_code == 400
        assert "slug" in response.json()

    def test_an_icon_url_is_accepted(self, staff_client):
        body = {
            "name": "Pic",
            "icon": "https://example.com/b.png",
            "condition": {"type": "level", "level": 2},
        }
        assert staff_client.post(BADGES, body, format="json").status_code == 201


class TestUpdateAndDelete:
    def test_staff_patch_a_badge(self, staff_client, first_steps):
        response = staff_client.patch(
            f"{BADGES}/{first_steps.id}", {"condition": {"type": "attempt_count", "count": 3}}, format="json"
        )
        assert response.status_code == 200, response.json()
        first_steps.refresh_from_db()
        assert first_steps.condition == {"type": "attempt_count", "count": 3}

    def test_staff_put_a_badge(self, staff_client, first_steps):
        body = {"name": "Renamed", "slug": "", "condition": {"type": "level", "level": 2}, "is_active": False}
        response = staff_client.put(f"{BADGES}/{first_steps.id}", body, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["slug"] == "renamed"
        assert response.json()["is_active"] is False

    def test_an_invalid_condition_on_patch_is_400(self, staff_client, first_steps):
        response = staff_client.patch(
            f"{BADGES}/{first_steps.id}", {"condition": {"type": "level", "level": -1}}, format="json"
        )
        assert response.status_code == 400
        assert "positive" in response.json()["condition"][0]

    def test_player_and_anonymous_edits_are_refused(self, api_client, auth_client, first_steps):
        assert api_client.patch(f"{BADGES}/{first_steps.id}", {"name": "Y"}, format="json").status_code == 401
        assert (
            auth_client.patch(f"{BADGES}/{first_steps.id}", {"name": "Y"}, format="json").status_code == 403
        )
        assert auth_client.delete(f"{BADGES}/{first_steps.id}").status_code == 403
        assert api_client.delete(f"{BADGES}/{first_steps.id}").status_code == 401

    def test_staff_delete_an_unawarded_badge(self, staff_client, first_steps):
        assert staff_client.delete(f"{BADGES}/{first_steps.id}").status_code == 204
        assert not Badge.objects.exists()

    def test_an_awarded_badge_cannot_be_deleted_409(self, staff_client, first_steps, user):
        UserBadge.objects.create(user=user, badge=first_steps)
        response = staff_client.delete(f"{BADGES}/{first_steps.id}")
        assert response.status_code == 409
        assert response.json()["code"] == "badge_has_awards"
        assert UserBadge.objects.filter(badge=first_steps).exists()

    def test_editing_an_unknown_badge_is_404(self, staff_client):
        assert staff_client.patch(f"{BADGES}/{uuid.uuid4()}", {"name": "Y"}, format="json").status_code == 404


class TestUserBadges:
    def test_anyone_sees_a_players_badges_without_metadata(self, api_client, user, first_steps, make_badge):
        other = make_badge("Other", {"type": "xp", "threshold": 1})
        UserBadge.objects.create(user=user, badge=first_steps, metadata={"attempt_id": "x"})
        baker.make(UserBadge, badge=other)  # someone else's
        response = api_client.get(f"/api/v1/users/{user.id}/badges")
        assert response.status_code == 200
        [entry] = response.json()
        assert set(entry) == {"id", "badge", "awarded_at", "assertion_url"}
        assert entry["badge"]["slug"] == "first-steps"

    def test_unknown_or_malformed_user_is_404(self, api_client):
        assert api_client.get(f"/api/v1/users/{uuid.uuid4()}/badges").status_code == 404
        response = api_client.get("/api/v1/users/nope/badges")
        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"
