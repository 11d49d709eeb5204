"""POST /api/v1/admin/xp-grants: staff grant and revoke XP with a reason; the ledger, the totals, the
badges and the boards follow, and every bad request is refused with nothing written."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from challenges.models import Attempt, Challenge
from progress.awards import services as award_services
from progress.boards.backends import RedisBackend, member
from progress.boards.windows import window_for
from progress.models import Badge, UserBadge, XpEntry

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/admin/xp-grants"


def _ledger(user) -> list[int]:
    return list(XpEntry.objects.filter(user=user).order_by("created_at").values_list("amount", flat=True))


def _board_xp(user, period="all") -> int | None:
    score = RedisBackend().redis.zscore(
        window_for(period).key, member(username=user.username, user_id=user.pk)
    )
    return None if score is None else -int(score)


@pytest.fixture
def grant(staff_client, django_capture_on_commit_callbacks):
    """POST a grant as staff, running what it schedules on commit (the boards)."""

    def post(body):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_client.post(GRANTS, body, format="json")

    return post


@pytest.fixture
def earned(user):
    """The player with 100 XP from an award."""
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    attempt = Attempt.objects.create(user=user, challenge=challenge, score=100, status=Attempt.Status.PASSED)
    award_services.awards_process(attempt_ids=[attempt.pk])
    user.refresh_from_db()
    assert user.total_xp == 100
    return user


class TestGrant:
    def test_a_grant_is_201_with_its_entry_and_moves_total_level_and_boards(self, grant, staff_user, user):
        response = grant({"user_id": str(user.pk), "amount": 450, "reason": "  Won the spring hackathon  "})
        assert response.status_code == 201, response.content
        body = response.json()
        entry = XpEntry.objects.get(pk=body["id"])
        assert (entry.kind, entry.amount, entry.reason, entry.actor_id) == (
            "grant",
            450,
            "Won the spring hackathon",
            staff_user.pk,
        )
        assert body["kind"] == "grant" and body["reason"] == "Won the spring hackathon"
        assert body["explanation"] == {"before": 0, "after": 450}
        user.refresh_from_db()
        assert (user.total_xp, user.level) == (450, 3)
        assert _board_xp(user, "all") == _board_xp(user, "week") == _board_xp(user, "month") == 450

    def test_a_grant_earns_the_badges_its_xp_reaches(self, staff_client, user):
        Badge.objects.create(name="Rich", slug="rich", condition={"type": "xp", "threshold": 300})
        Badge.objects.create(name="Level 3", slug="level-3", condition={"type": "level", "level": 3})
        Badge.objects.create(name="Richer", slug="richer", condition={"type": "xp", "threshold": 10_000})
        staff_client.post(
            GRANTS, {"user_id": str(user.pk), "amount": 400, "reason": "Mentoring"}, format="json"
        )
        assert set(UserBadge.objects.filter(user=user).values_list("badge__slug", flat=True)) == {
            "rich",
            "level-3",
        }

    def test_a_revocation_lowers_total_level_and_boards_but_keeps_badges(self, grant, earned):
        Badge.objects.create(name="Hundred", slug="hundred", condition={"type": "xp", "threshold": 100})
        grant({"user_id": str(earned.pk), "amount": 1, "reason": "Evaluate badges"})
        assert UserBadge.objects.filter(user=earned, badge__slug="hundred").exists()
        assert _board_xp(earned, "all") == 101
        response = grant({"user_id": str(earned.pk), "amount": -61, "reason": "Copied solution"})
        assert response.status_code == 201
        assert response.json()["kind"] == "revoke"
        earned.refresh_from_db()
        assert (earned.total_xp, earned.level) == (40, 1)
        assert _ledger(earned) == [100, 1, -61]
        assert _board_xp(earned, "all") == _board_xp(earned, "week") == 40
        assert UserBadge.objects.filter(user=earned, badge__slug="hundred").exists()  # never taken away

    def test_revoking_everything_takes_the_player_off_the_boards(self, grant, earned):
        grant({"user_id": str(earned.pk), "amount": 1, "reason": "Put on the boards"})
        assert _board_xp(earned, "all") == 101
        grant({"user_id": str(earned.pk), "amount": -101, "reason": "Reset"})
        assert User.objects.get(pk=earned.pk).total_xp == 0
        assert _board_xp(earned, "all") is None

    def test_a_revocation_below_zero_is_409_and_writes_nothing(self, staff_client, earned):
        response = staff_client.post(
            GRANTS, {"user_id": str(earned.pk), "amount": -101, "reason": "Too much"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "xp_would_go_negative"
        assert _ledger(earned) == [100]
        assert User.objects.get(pk=earned.pk).total_xp == 100

    def test_an_unknown_player_is_404(self, staff_client):
        response = staff_client.post(
            GRANTS,
            {"user_id": "00000000-0000-4000-8000-000000000000", "amount": 5, "reason": "x"},
            format="json",
        )
        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"
        assert not XpEntry.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"amount": 0, "reason": "zero"}, "amount"),
            ({"amount": 100_001, "reason": "too much"}, "amount"),
            ({"amount": -100_001, "reason": "too much"}, "amount"),
            ({"amount": "ten", "reason": "words"}, "amount"),
            ({"amount": 1.5, "reason": "fraction"}, "amount"),
            ({"amount": None, "reason": "null"}, "amount"),
            ({"reason": "no amount"}, "amount"),
            ({"amount": 5}, "reason"),
            ({"amount": 5, "reason": ""}, "reason"),
            ({"amount": 5, "reason": "   "}, "reason"),
            ({"amount": 5, "reason": "x" * 501}, "reason"),
            ({"amount": 5, "reason": ["a list"]}, "reason"),
            ({"amount": 5, "reason": "bad id", "user_id": "not-a-uuid"}, "user_id"),
            ({"amount": 5, "reason": "no id", "user_id": None}, "user_id"),
        ],
    )
    def test_bad_input_is_400_on_its_field_and_writes_nothing(self, staff_client, user, body, field):
        payload = {"user_id": str(user.pk), **body}
        response = staff_client.post(GRANTS, payload, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert not XpEntry.objects.exists()

    def test_the_limits_themselves_are_allowed(self, staff_client, user):
        assert (
            staff_client.post(
                GRANTS, {"user_id": str(user.pk), "amount": 100_000, "reason": "x" * 500}, format="json"
            ).status_code
            == 201
        )
        assert (
            staff_client.post(
                GRANTS, {"user_id": str(user.pk), "amount": -100_000, "reason": "y"}, format="json"
            ).status_code
            == 201
        )
        assert User.objects.get(pk=user.pk).total_xp == 0

    def test_anonymous_is_401_and_a_player_403(self, api_client, auth_client, user):
        body = {"user_id": str(user.pk), "amount": 5, "reason": "self-service"}
        assert api_client.post(GRANTS, body, format="json").status_code == 401
        assert auth_client.post(GRANTS, body, format="json").status_code == 403
        assert not XpEntry.objects.exists()


class TestIdempotencyKey:
    def test_a_retry_with_the_same_key_grants_once_and_returns_the_first_entry(self, staff_client, user):
        body = {"user_id": str(user.pk), "amount": 25, "reason": "Retry me"}
        first = staff_client.post(GRANTS, body, format="json", HTTP_IDEMPOTENCY_KEY="grant-7")
        again = staff_client.post(GRANTS, body, format="json", HTTP_IDEMPOTENCY_KEY="grant-7")
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        assert _ledger(user) == [25]

    def test_the_same_key_for_a_different_request_is_409(self, staff_client, user):
        staff_client.post(
            GRANTS,
            {"user_id": str(user.pk), "amount": 25, "reason": "A"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
        response = staff_client.post(
            GRANTS,
            {"user_id": str(user.pk), "amount": 30, "reason": "A"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="k",
        )
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_reused"
        assert _ledger(user) == [25]

    @pytest.mark.parametrize("key", ["", "has space", "x" * 101, "tab\there"])
    def test_a_malformed_key_is_400(self, staff_client, user, key):
        response = staff_client.post(
            GRANTS,
            {"user_id": str(user.pk), "amount": 5, "reason": "A"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()
        assert not XpEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_racing_revocations_never_take_a_total_below_zero(staff_user):
    """Two staff revoke 60 of the same 100 XP at once: the player's row lock lets exactly one through."""
    player = baker.make(User, username="racer")
    XpEntry.objects.create(
        user=player, amount=100, kind="grant", reason="start", actor=staff_user, idempotency_key="grant:start"
    )
    User.objects.filter(pk=player.pk).update(total_xp=100, level=2)
    barrier, statuses = threading.Barrier(2), []

    def revoke():
        client = APIClient()
        client.force_authenticate(staff_user)
        barrier.wait()
        try:
            response = client.post(
                GRANTS, {"user_id": str(player.pk), "amount": -60, "reason": "race"}, format="json"
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=revoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409]
    assert User.objects.get(pk=player.pk).total_xp == 40 == sum(_ledger(player))
