"""GET /api/v1/users/{id}/progress, and the seed's demo end to end through a real RQ worker."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import ATTEMPTS, CHALLENGES, drain_queue, make_challenge, start, submit
from progress.api import serializers as s
from progress.awards import rules
from progress.ledger.selectors import ledger_mismatches
from progress.models import Badge, UserBadge
from progress.players.selectors import user_progress

PROGRESS = "/api/v1/users/{}/progress"


@pytest.mark.django_db(transaction=True)
def test_the_seed_demo_register_login_play_and_get_awarded(settings):
    settings.JOBS_IN_PROCESS = False
    call_command("seed", stdout=open("/dev/null", "w"))  # noqa: SIM115
    drain_queue()  # the seed's own history is awarded by the worker too
    assert not Attempt.objects.award_pending().exists()
    client = APIClient()

    registered = client.post(
        "/api/v1/auth/register",
        {"username": "demo", "email": "demo@example.com", "password": "Sturdy-Pass-991"},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    user_id = registered.json()["id"]
    assert drain_queue() == 1  # the verification email, sent by the worker
    assert [message.to for message in mail.outbox] == [["demo@example.com"]]
    login = client.post(
        "/api/v1/auth/login", {"username": "demo", "password": "Sturdy-Pass-991"}, format="json"
    )
    assert login.status_code == 200, login.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access_token']}")

    listed = client.get(CHALLENGES, {"page_size": 100})
    assert listed.status_code == 200
    by_title = {row["title"]: row for row in listed.json()["results"]}
    assert "Draft: graph coloring" not in by_title
    awarded = 0
    for title in ("Hello, SkillQuest", "Dijkstra"):
        challenge = by_title[title]
        started = client.post(ATTEMPTS, {"challenge_id": challenge["id"]}, format="json")
        assert started.status_code == 201
        submitted = client.post(f"{ATTEMPTS}/{started.json()['id']}/submit", {"score": 95}, format="json")
        assert submitted.status_code == 200
        assert (submitted.json()["status"], submitted.json()["xp_awarded"]) == ("passed", None)
        assert drain_queue() == 1
        expected = rules.base_xp(challenge_xp=challenge["xp"], score=95)
        attempt = client.get(f"{ATTEMPTS}/{started.json()['id']}").json()
        assert attempt["xp_awarded"] == expected
        awarded += expected
    assert awarded == 10 + 190  # Hello: 10 * 0.95 = 9.5 rounds half up to 10; Dijkstra: 200 * 0.95

    progress = client.get(PROGRESS.format(user_id))
    assert progress.status_code == 200
    body = progress.json()
    # The seed's daily quests pay on top: two passes (+20), 50 XP (+15) and a hard challenge (+40).
    assert (body["username"], body["total_xp"], body["level"], body["next_level_xp"]) == ("demo", 275, 2, 400)
    assert [row["xp_awarded"] for row in body["recent_attempts"]] == [190, 10]
    assert "email" not in progress.content.decode()
    # Every total is what the attempts paid plus the event bonuses and quest rewards: its ledger.
    for user in User.objects.all():
        paid = sum(a.xp_awarded or 0 for a in Attempt.objects.filter(user=user))
        extra = sum(
            user.xp_entries.filter(kind__in=["event_bonus", "quest"]).values_list("amount", flat=True)
        )
        assert paid + extra == user.total_xp
    assert ledger_mismatches() == []


@pytest.mark.django_db
class TestProgress:
    def test_shape_and_values(self, api_client, user):
        User.objects.filter(pk=user.pk).update(total_xp=250, level=2)
        body = api_client.get(PROGRESS.format(user.pk)).json()
        assert body == {
            "user_id": str(user.pk),
            "username": "alice",
            "total_xp": 250,
            "level": 2,
            "next_level_xp": 400,
            "level_progress": 0.5,
            "rank": None,  # the board is kept by the award job; this test set the total directly
            "current_streak": 0,
            "longest_streak": 0,
            "recent_attempts": [],
            "badges": [],
            "badge_progress": [],
        }

    def test_another_players_progress_shows_no_private_fields(self, auth_client, other_user, settings):
        settings.JOBS_IN_PROCESS = True
        other = APIClient()
        other.force_authenticate(other_user)
        challenge = make_challenge(grading={"type": "exact", "answer": "Secret-Answer"})
        assert submit(other, start(other, challenge), solution="my private solution").status_code == 200
        response = auth_client.get(PROGRESS.format(other_user.pk))
        assert response.status_code == 200
        text = response.content.decode()
        for private in ("bob@example.com", "email", "my private solution", "Secret-Answer", "password"):
            assert private not in text
        assert response.json()["recent_attempts"][0]["status"] == "failed"

    def test_recent_attempts_are_newest_first_and_capped(self, api_client, user):
        challenge = make_challenge()
        for _ in range(12):
            Attempt.objects.create(user=user, challenge=challenge)
        rows = api_client.get(PROGRESS.format(user.pk)).json()["recent_attempts"]
        assert len(rows) == 10
        started = [row["started_at"] for row in rows]
        assert started == sorted(started, reverse=True)

    def test_query_count_does_not_grow_with_history(self, api_client, user, django_assert_num_queries):
        challenge = make_challenge()
        counts = []
        for _ in range(2):
            for _ in range(5):
                Attempt.objects.create(user=user, challenge=challenge)
            with CaptureQueriesContext(connection) as queries:
                assert api_client.get(PROGRESS.format(user.pk)).status_code == 200
            counts.append(len(queries))
        # The player with their recent attempts, badges, passed days (a fourth when a badge counts
        # challenges).
        assert counts[0] == counts[1] == 3

    @pytest.mark.parametrize("user_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
    def test_unknown_or_malformed_user_is_404(self, api_client, user_id):
        response = api_client.get(PROGRESS.format(user_id))
        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"

    def test_inactive_user_is_404(self, api_client, user):
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert api_client.get(PROGRESS.format(user.pk)).status_code == 404


@pytest.mark.django_db
def test_the_plain_renderer_matches_the_documented_serializer(
    api_client, user, settings, django_capture_on_commit_callbacks
):
    """`progress_data` answers without building serializers; it must say what ProgressSerializer says."""

    settings.JOBS_IN_PROCESS = True
    player = APIClient()
    player.force_authenticate(user)
    for score in (95, 20):
        with django_capture_on_commit_callbacks(execute=True):
            assert submit(player, start(player, make_challenge(xp=150)), score=score).status_code == 200
    start(player, make_challenge())  # one still open
    retired = Badge.objects.create(name="Retired", slug="retired", condition={"type": "xp", "threshold": 1})
    UserBadge.objects.create(user=user, badge=retired, awarded_at=timezone.now())
    Badge.objects.filter(pk=retired.pk).update(is_active=False)  # earned badges stay listed
    Badge.objects.create(name="Far away", slug="far", condition={"type": "xp", "threshold": 10**6})
    Badge.objects.create(name="Broken", slug="broken", condition={"type": "no-such-type"})  # skipped

    progress = user_progress(user_id=user.pk)
    body = api_client.get(PROGRESS.format(user.pk)).json()
    assert body == s.progress_data(progress) == dict(s.ProgressSerializer(progress).data)
    assert [row["badge"]["slug"] for row in body["badges"]][-1] == "retired"
    assert [row["badge"]["slug"] for row in body["badge_progress"]] == ["far"]
    assert [row["status"] for row in body["recent_attempts"]] == ["started", "failed", "passed"]
    assert body["rank"] == 1 and body["total_xp"] == 143  # 95 % of 150, rounded half up
