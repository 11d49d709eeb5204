"""`/api/v1/quests`: staff-only definitions (every 400/401/403/404/409), and a player's quests of today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from model_bakery import baker

from accounts.models import User
from challenges.models import Tag
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.models import Quest, XpEntry
from progress.quests.selectors import quests_today
from progress.tests.events.helpers import graded
from skillquest.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
QUESTS = "/api/v1/quests"


@pytest.fixture
def quest():
    return Quest.objects.create(name="Warm-up", kind="pass_challenges", params={"count": 2}, reward_xp=20)


BODY = {"name": "Hard day", "description": "One hard one.", "kind": "pass_difficulty",
        "params": {"difficulty": "hard", "count": 1}, "reward_xp": 50, "active": True}  # fmt: skip


class TestStaffOnly:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("get", "", None),
            ("post", "", BODY),
            ("get", "/{id}", None),
            ("put", "/{id}", BODY),
            ("patch", "/{id}", {"reward_xp": 5}),
            ("delete", "/{id}", None),
        ],
    )
    def test_anonymous_is_401_and_a_player_403(self, api_client, auth_client, quest, method, path, body):
        url = QUESTS + path.format(id=quest.pk)
        for client, status in ((api_client, 401), (auth_client, 403)):
            call = getattr(client, method)
            response = call(url, body, format="json") if body is not None else call(url)
            assert response.status_code == status, (method, path)
        assert Quest.objects.get(pk=quest.pk).reward_xp == 20

    def test_staff_list_create_read_update_and_delete(self, staff_client, quest):
        assert [row["name"] for row in staff_client.get(QUESTS).json()["results"]] == ["Warm-up"]
        created = staff_client.post(QUESTS, BODY, format="json")
        assert created.status_code == 201, created.content
        data = created.json()
        assert data["summary"] == "Pass 1 hard challenge today."
        assert data["params"] == {"count": 1, "difficulty": "hard"}
        url = f"{QUESTS}/{data['id']}"
        assert staff_client.get(url).json()["name"] == "Hard day"
        assert (
            staff_client.patch(url, {"reward_xp": 75, "active": False}, format="json").json()["reward_xp"]
            == 75
        )
        put = staff_client.put(url, {**BODY, "kind": "earn_xp", "params": {"xp": 200}}, format="json")
        assert put.status_code == 200 and put.json()["summary"] == "Earn 200 XP from challenges today."
        assert staff_client.delete(url).status_code == 204
        actions = set(AuditEntry.objects.values_list("action", flat=True))
        assert {"quest.create", "quest.update", "quest.delete"} <= actions

    def test_an_unknown_quest_is_404(self, staff_client):
        assert staff_client.get(f"{QUESTS}/00000000-0000-0000-0000-000000000000").status_code == 404
        assert staff_client.get(f"{QUESTS}/not-a-uuid").status_code == 404
        assert staff_client.delete(f"{QUESTS}/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kind": "pass_everything"}, "kind", "is not a valid choice"),
        ({"params": {}}, "params", "'count' is required"),
        ({"params": {"difficulty": "legendary", "count": 1}}, "params", "'difficulty' must be one of"),
        ({"params": {"difficulty": "hard", "count": 0}}, "params", "between 1 and 1,000"),
        ({"params": {"difficulty": "hard", "count": 1, "extra": 1}}, "params", "Unknown param(s) 'extra'"),
        ({"params": "hard"}, "params", "must be a JSON object"),
        ({"kind": "pass_tag", "params": {"tag": "nope", "count": 1}}, "params", "There is no tag 'nope'"),
        ({"reward_xp": 0}, "reward_xp", ""),
        ({"reward_xp": 10_001}, "reward_xp", ""),
        ({"name": ""}, "name", ""),
    ],
)
def test_a_bad_kind_or_params_is_400_naming_the_field(staff_client, change, field, message):
    response = staff_client.post(QUESTS, {**BODY, **change}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert message in response.json()[field][0]
    assert not Quest.objects.exists()


def test_a_patch_of_params_is_checked_against_the_stored_kind(staff_client, quest):
    response = staff_client.patch(f"{QUESTS}/{quest.pk}", {"params": {"xp": 5}}, format="json")
    assert response.status_code == 400
    assert "Unknown param(s) 'xp'" in response.json()["params"][0]


def test_a_tag_quest_is_accepted_once_the_tag_exists(staff_client):
    Tag.objects.create(name="SQL", slug="sql")
    body = {**BODY, "kind": "pass_tag", "params": {"tag": "SQL", "count": 2}}
    response = staff_client.post(QUESTS, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["params"] == {"count": 2, "tag": "sql"}


def test_a_quest_that_has_paid_is_deactivated_not_deleted_409(staff_client, user, quest):
    awards_process(attempt_ids=[graded(user, make_challenge(), 100).pk for _ in range(2)])
    assert XpEntry.objects.filter(quest=quest).exists()
    response = staff_client.delete(f"{QUESTS}/{quest.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "quest_has_rewards"
    assert staff_client.patch(f"{QUESTS}/{quest.pk}", {"active": False}, format="json").status_code == 200


class TestToday:
    def test_anonymous_is_401(self, api_client):
        assert api_client.get(f"{QUESTS}/today").status_code == 401

    def test_a_player_sees_every_active_quest_with_progress_and_completion(self, auth_client, user, quest):
        Quest.objects.create(name="Off", kind="earn_xp", params={"xp": 10}, reward_xp=5, active=False)
        earn = Quest.objects.create(name="Earner", kind="earn_xp", params={"xp": 500}, reward_xp=40)
        awards_process(attempt_ids=[graded(user, make_challenge(xp=100), 100).pk])

        first = auth_client.get(f"{QUESTS}/today").json()
        assert [
            (row["quest"]["name"], row["current"], row["target"], row["completed_at"]) for row in first
        ] == [
            ("Earner", 100, 500, None),
            ("Warm-up", 1, 2, None),
        ]
        assert first[0]["quest"] == {
            "id": str(earn.pk),
            "name": "Earner",
            "description": "",
            "kind": "earn_xp",
            "params": {"xp": 500},
            "summary": "Earn 500 XP from challenges today.",
        }
        assert first[0]["reward_xp"] == 40

        awards_process(attempt_ids=[graded(user, make_challenge(xp=100), 100).pk])
        warm_up = auth_client.get(f"{QUESTS}/today").json()[1]
        assert (warm_up["current"], warm_up["target"]) == (2, 2)
        assert warm_up["completed_at"] is not None

    def test_staff_see_their_own_day_too(self, staff_client, quest):
        assert staff_client.get(f"{QUESTS}/today").json()[0]["current"] == 0

    def test_the_day_is_the_players_local_day_across_a_dst_change(self, quest):
        player = baker.make(User, username="nyc", timezone="America/New_York")
        # 23:30 EDT on 2026-03-08 (03:30 UTC on the 9th): the day that lasted 23 hours.
        awards_process(
            attempt_ids=[graded(player, make_challenge(), 100, at=datetime(2026, 3, 9, 3, 30, tzinfo=UTC)).pk]
        )
        on_the_8th = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # its first instant, 00:00 EST
        on_the_9th = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)  # 00:00 EDT: a new day from zero
        assert [row.current for row in quests_today(user=player, now=on_the_8th)] == [1]
        assert [
            row.current for row in quests_today(user=player, now=on_the_9th - timedelta(microseconds=1))
        ] == [1]
        assert [row.current for row in quests_today(user=player, now=on_the_9th)] == [0]

    def test_it_costs_a_fixed_number_of_queries(self, auth_client, user, quest, django_assert_num_queries):
        Tag.objects.create(name="SQL", slug="sql")
        Quest.objects.create(name="Tagged", kind="pass_tag", params={"tag": "sql", "count": 1}, reward_xp=5)
        for _ in range(5):
            awards_process(attempt_ids=[graded(user, make_challenge(), 100).pk])
        with django_assert_num_queries(4):  # the quests, the day's attempts, their tags, today's rewards
            assert len(auth_client.get(f"{QUESTS}/today").json()) == 2

    def test_nothing_active_is_an_empty_list(self, auth_client):
        assert auth_client.get(f"{QUESTS}/today").json() == []
