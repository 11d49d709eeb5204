"""Secret badges (nothing of them shows until earned) and rarity (`earned_by_percent`, kept by a job)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from model_bakery import baker
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from accounts.models import User
from challenges.tests.helpers import make_challenge, start, submit
from progress import jobs
from progress.badges.rarity import badge_rarity_refresh, percent
from progress.models import Badge, UserBadge
from skillquest.queue import default_queue
from skillquest.tests.helpers import client_for

pytestmark = pytest.mark.django_db

MASKED = {
    "name": "Secret badge",
    "slug": None,
    "description": "",
    "icon": "",
    "condition": None,
    "condition_description": "",
    "secret": True,
}


@pytest.fixture
def hidden():
    return Badge.objects.create(
        name="Night Owl", slug="night-owl", description="Passed at 3 a.m.", icon="🦉",
        condition={"type": "xp", "threshold": 50}, secret=True,
    )  # fmt: skip


def badge_rows(response) -> dict[str, dict]:
    return {row["id"]: row for row in response.json()}


class TestSecretBadges:
    def test_the_catalogue_hides_a_secret_badge_from_players_who_have_not_earned_it(
        self, api_client, user, other_user, hidden
    ):
        UserBadge.objects.create(user=other_user, badge=hidden)
        for client in (api_client, client_for(user)):
            for response in (client.get("/api/v1/badges"), client.get(f"/api/v1/badges/{hidden.pk}")):
                row = response.json()[0] if isinstance(response.json(), list) else response.json()
                assert {key: row[key] for key in MASKED} == MASKED
                assert "Owl" not in response.content.decode() and "3 a.m." not in response.content.decode()

    def test_whoever_earned_it_sees_it_whole_and_so_do_staff(self, user, staff_user, hidden):
        UserBadge.objects.create(user=user, badge=hidden)
        mine = badge_rows(client_for(user).get("/api/v1/badges"))[str(hidden.pk)]
        assert (mine["name"], mine["slug"], mine["secret"]) == ("Night Owl", "night-owl", True)
        staff = badge_rows(client_for(staff_user).get("/api/v1/badges"))[str(hidden.pk)]
        assert staff["condition"] == {"type": "xp", "threshold": 50}

    def test_progress_shows_no_name_and_no_progress_towards_it(self, api_client, user, hidden):
        body = client_for(user).get(f"/api/v1/users/{user.pk}/progress").json()
        (locked,) = [row for row in body["badge_progress"] if row["badge"]["id"] == str(hidden.pk)]
        assert {key: locked["badge"][key] for key in MASKED} == MASKED
        assert (locked["current"], locked["target"]) == (None, None)

    def test_once_earned_it_shows_on_the_players_profile_for_everyone(self, api_client, client, user, hidden):
        UserBadge.objects.create(user=user, badge=hidden)
        body = api_client.get(f"/api/v1/users/{user.pk}/progress").json()
        assert [row["badge"]["name"] for row in body["badges"]] == ["Night Owl"]
        assert "Night Owl" in client.get(f"/u/{user.username}/").content.decode()

    def test_the_profile_page_shows_a_locked_secret_badge_as_a_secret(self, client, user, hidden):
        html = client.get(f"/u/{user.username}/").content.decode()
        assert "data-secret-badge" in html and "Secret badge" in html
        assert "Night Owl" not in html and "3 a.m." not in html


class TestRarity:
    @pytest.mark.parametrize(
        ("holders", "players", "expected"),
        [(0, 0, 0.0), (1, 3, 33.3), (2, 3, 66.7), (1, 8, 12.5), (1, 16, 6.3), (3, 3, 100.0)],
    )
    def test_the_share_has_one_decimal_rounded_half_up(self, holders, players, expected):
        assert percent(holders, players) == expected

    def test_the_share_counts_active_players_with_any_xp(self, hidden):
        holders = baker.make(User, total_xp=100, _quantity=2)
        baker.make(User, total_xp=5, _quantity=5)
        baker.make(User, total_xp=0, _quantity=10)  # no XP: not counted
        gone = baker.make(User, total_xp=500, is_active=False)  # erased: neither
        for holder in (*holders, gone):
            UserBadge.objects.create(user=holder, badge=hidden)
        assert badge_rarity_refresh() == 1
        hidden.refresh_from_db()
        assert (hidden.earned_by_percent, hidden.rarity_refreshed_at is not None) == (28.6, True)
        assert badge_rarity_refresh() == 0  # nothing moved: nothing written

    def test_awards_schedule_one_refresh_and_the_worker_runs_it(
        self, user, settings, django_capture_on_commit_callbacks
    ):
        settings.JOBS_IN_PROCESS = False
        settings.BADGE_RARITY_REFRESH_SECONDS = 30
        first_steps = Badge.objects.create(
            name="First", slug="first", condition={"type": "attempt_count", "count": 1}
        )
        client = client_for(user)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                submit(client, start(client, make_challenge()), score=100)
        queue = default_queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        registry = ScheduledJobRegistry(queue=queue)
        assert [getattr(queue.fetch_job(job_id), "func_name", None) for job_id in registry.get_job_ids()] == [
            "progress.jobs.refresh_badge_rarity"
        ]  # two award jobs, one refresh
        scheduled = registry.get_scheduled_time(registry.get_job_ids()[0])
        assert 20 < (scheduled - timezone.now()).total_seconds() <= 30
        jobs.refresh_badge_rarity()  # what the worker's scheduler runs when the time comes
        first_steps.refresh_from_db()
        assert first_steps.earned_by_percent == 100.0
        assert not queue.connection.exists(jobs.RARITY_SLOT_KEY)  # the next award schedules anew
