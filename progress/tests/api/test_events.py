"""`/api/v1/events`: public reads, staff writes, every 400/401/403/404/409, and the event's board."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from accounts.models import User
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.events import freezing
from progress.models import Event
from progress.tests.events.helpers import graded, make_event
from skillquest.audit.models import AuditEntry
from skillquest.queue import default_queue

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/events"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def challenge():
    return make_challenge(xp=100)


@pytest.fixture
def body(challenge):
    now = timezone.now()
    return {
        "name": "Spring Sprint",
        "description": "A week of SQL.",
        "starts_at": iso(now + timedelta(hours=1)),
        "ends_at": iso(now + timedelta(days=7)),
        "challenge_ids": [str(challenge.pk)],
        "xp_multiplier": 1.5,
    }


@pytest.fixture
def upcoming(challenge):
    now = timezone.now()
    return make_event(challenge, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))


@pytest.fixture
def live(challenge):
    return make_event(challenge)


@pytest.fixture
def ended():
    now = timezone.now()
    return make_event(make_challenge(), starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))


def scheduled_freezes() -> list[str]:
    return default_queue().scheduled_job_registry.get_job_ids()


class TestReads:
    def test_anyone_lists_events_by_state(self, api_client, upcoming, live, ended):
        slugs = lambda response: [event["slug"] for event in response.json()["results"]]  # noqa: E731
        assert slugs(api_client.get(EVENTS)) == [upcoming.slug, live.slug, ended.slug]
        assert slugs(api_client.get(EVENTS, {"state": "upcoming"})) == [upcoming.slug]
        assert slugs(api_client.get(EVENTS, {"state": "live"})) == [live.slug]
        assert slugs(api_client.get(EVENTS, {"state": "ended"})) == [ended.slug]

    def test_an_unknown_state_is_400(self, api_client):
        response = api_client.get(EVENTS, {"state": "someday"})
        assert response.status_code == 400
        assert "state" in response.json()

    def test_one_event_by_slug(self, api_client, live, challenge):
        data = api_client.get(f"{EVENTS}/{live.slug}").json()
        assert data["name"] == live.name
        assert (data["state"], data["final"], data["frozen_at"]) == ("live", False, None)
        assert data["challenge_ids"] == [str(challenge.pk)]
        assert data["xp_multiplier"] == 1.5
        assert data["starts_at"].endswith("Z")

    def test_an_unknown_event_is_404(self, api_client):
        response = api_client.get(f"{EVENTS}/no-such-event")
        assert response.status_code == 404
        assert response.json()["code"] == "event_not_found"

    def test_a_draft_challenge_of_an_event_is_shown_to_staff_only(self, api_client, staff_client, challenge):
        draft = make_challenge(published=False, title="Secret draft")
        event = make_event(challenge, draft)
        assert api_client.get(f"{EVENTS}/{event.slug}").json()["challenge_ids"] == [str(challenge.pk)]
        assert sorted(staff_client.get(f"{EVENTS}/{event.slug}").json()["challenge_ids"]) == sorted(
            [str(challenge.pk), str(draft.pk)]
        )


class TestCreate:
    def test_staff_create_an_event_and_its_freeze_is_scheduled_for_the_end(
        self, staff_client, body, settings, django_capture_on_commit_callbacks
    ):
        settings.JOBS_IN_PROCESS = False
        settings.EVENT_FREEZE_DELAY_SECONDS = 5
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(EVENTS, body, format="json")
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["slug"], data["state"], data["xp_multiplier"]) == ("spring-sprint", "upcoming", 1.5)
        event = Event.objects.get(slug="spring-sprint")
        registry = default_queue().scheduled_job_registry
        [job_id] = registry.get_job_ids()
        assert job_id == f"event-freeze-{event.pk}-{int(event.ends_at.timestamp())}"
        assert registry.get_scheduled_time(job_id) == (event.ends_at + timedelta(seconds=5)).replace(
            microsecond=0
        )
        assert AuditEntry.objects.filter(action="event.create", target_id=str(event.pk)).exists()

    def test_anonymous_is_401_and_a_player_403(self, api_client, auth_client, body):
        assert api_client.post(EVENTS, body, format="json").status_code == 401
        assert auth_client.post(EVENTS, body, format="json").status_code == 403
        assert not Event.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"starts_at": "2031-05-01T09:00:00"}, "starts_at"),  # naive: no zone given
            ({"ends_at": "2031-05-01 09:00"}, "ends_at"),
            ({"starts_at": "tomorrow"}, "starts_at"),
            ({"xp_multiplier": 0.5}, "xp_multiplier"),
            ({"xp_multiplier": 5.01}, "xp_multiplier"),
            ({"xp_multiplier": 1.555}, "xp_multiplier"),
            ({"xp_multiplier": "NaN"}, "xp_multiplier"),
            ({"challenge_ids": []}, "challenge_ids"),
            ({"challenge_ids": ["not-a-uuid"]}, "challenge_ids"),
            ({"challenge_ids": ["00000000-0000-0000-0000-000000000000"]}, "challenge_ids"),
            ({"name": ""}, "name"),
            ({"slug": "not a slug"}, "slug"),
        ],
    )
    def test_bad_fields_are_400_per_field(self, staff_client, body, change, field):
        response = staff_client.post(EVENTS, {**body, **change}, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert not Event.objects.exists()

    @pytest.mark.parametrize(
        ("starts", "ends", "field"),
        [
            (timedelta(hours=2), timedelta(hours=2), "ends_at"),  # ends_at == starts_at
            (timedelta(hours=2), timedelta(hours=1), "ends_at"),  # ends before it starts
            (timedelta(hours=-1), timedelta(hours=5), "starts_at"),  # starts in the past
            (timedelta(hours=1), timedelta(days=400), "ends_at"),  # longer than a year
            (timedelta(days=3 * 365), timedelta(days=3 * 365 + 1), "starts_at"),  # too far ahead
        ],
    )
    def test_a_bad_window_is_400(self, staff_client, body, starts, ends, field):
        now = timezone.now()
        window = {"starts_at": iso(now + starts), "ends_at": iso(now + ends)}
        response = staff_client.post(EVENTS, {**body, **window}, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]

    def test_a_time_with_an_offset_is_read_as_that_instant(self, staff_client, body):
        start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
        local = start.astimezone(timezone.get_fixed_timezone(-300)).isoformat()  # "-05:00"
        response = staff_client.post(EVENTS, {**body, "starts_at": local}, format="json")
        assert response.status_code == 201, response.content
        assert Event.objects.get().starts_at == start

    def test_a_challenge_already_in_an_overlapping_event_is_400(self, staff_client, body, live, challenge):
        now = timezone.now()
        overlapping = {
            "starts_at": iso(now + timedelta(minutes=30)),
            "ends_at": iso(now + timedelta(hours=3)),
        }
        response = staff_client.post(EVENTS, {**body, **overlapping}, format="json")
        assert response.status_code == 400
        assert "already in the event" in response.json()["challenge_ids"][0]
        after = {"starts_at": iso(live.ends_at), "ends_at": iso(live.ends_at + timedelta(hours=1))}
        assert staff_client.post(EVENTS, {**body, **after}, format="json").status_code == 201  # back to back

    def test_a_taken_slug_is_400_and_a_blank_one_is_made_from_the_name(self, staff_client, body, upcoming):
        assert "slug" in staff_client.post(EVENTS, {**body, "slug": upcoming.slug}, format="json").json()
        elsewhere = {"challenge_ids": [str(make_challenge().pk)]}  # the fixture's is in `upcoming` already
        response = staff_client.post(
            EVENTS, {**body, **elsewhere, "slug": "", "name": "Spring Sprint"}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["slug"] == "spring-sprint"


class TestUpdate:
    def test_staff_change_anything_of_an_upcoming_event(self, staff_client, upcoming):
        other = make_challenge()
        response = staff_client.patch(
            f"{EVENTS}/{upcoming.slug}",
            {"xp_multiplier": "2.25", "challenge_ids": [str(other.pk)], "name": "Renamed"},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert (response.json()["xp_multiplier"], response.json()["challenge_ids"]) == (2.25, [str(other.pk)])
        assert AuditEntry.objects.filter(action="event.update").exists()

    def test_put_replaces_the_whole_event(self, staff_client, upcoming, body):
        response = staff_client.put(f"{EVENTS}/{upcoming.slug}", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["name"] == "Spring Sprint"

    def test_anonymous_is_401_a_player_403_and_an_unknown_event_404(
        self, api_client, auth_client, staff_client, live
    ):
        assert api_client.patch(f"{EVENTS}/{live.slug}", {"name": "x"}, format="json").status_code == 401
        assert auth_client.patch(f"{EVENTS}/{live.slug}", {"name": "x"}, format="json").status_code == 403
        assert staff_client.patch(f"{EVENTS}/nope", {"name": "x"}, format="json").status_code == 404
        assert staff_client.delete(f"{EVENTS}/nope").status_code == 404

    @pytest.mark.parametrize("change", [{"xp_multiplier": 7}, {"challenge_ids": []}, {"starts_at": "later"}])
    def test_a_malformed_change_is_400_before_any_state_rule(self, staff_client, live, change):
        assert staff_client.patch(f"{EVENTS}/{live.slug}", change, format="json").status_code == 400

    @pytest.mark.parametrize("field", ["xp_multiplier", "challenge_ids", "starts_at"])
    def test_a_started_event_keeps_its_start_challenges_and_multiplier_409(self, staff_client, live, field):
        changes = {
            "xp_multiplier": 3,
            "challenge_ids": [str(make_challenge().pk)],
            "starts_at": iso(timezone.now() + timedelta(minutes=5)),
        }
        response = staff_client.patch(f"{EVENTS}/{live.slug}", {field: changes[field]}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "event_started"

    def test_a_started_event_may_be_renamed_and_extended_and_the_freeze_follows_the_end(
        self, staff_client, live, settings, django_capture_on_commit_callbacks
    ):
        settings.JOBS_IN_PROCESS = False
        later = (live.ends_at + timedelta(hours=5)).replace(microsecond=0)
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.patch(
                f"{EVENTS}/{live.slug}", {"name": "Longer", "ends_at": iso(later)}, format="json"
            )
        assert response.status_code == 200, response.content
        assert scheduled_freezes() == [f"event-freeze-{live.pk}-{int(later.timestamp())}"]

    def test_a_put_that_repeats_a_started_events_fixed_fields_is_accepted(
        self, staff_client, live, challenge
    ):
        body = {
            "name": "Same but renamed",
            "starts_at": iso(live.starts_at),
            "ends_at": iso(live.ends_at),
            "challenge_ids": [str(challenge.pk)],
            "xp_multiplier": "1.50",
        }
        assert staff_client.put(f"{EVENTS}/{live.slug}", body, format="json").status_code == 200

    def test_the_end_of_a_live_event_cannot_move_into_the_past(self, staff_client, live):
        past = iso(timezone.now() - timedelta(minutes=1))
        response = staff_client.patch(f"{EVENTS}/{live.slug}", {"ends_at": past}, format="json")
        assert response.status_code == 400
        assert "ends_at" in response.json()

    @pytest.mark.parametrize("frozen", [False, True])
    def test_an_ended_event_cannot_change_at_all_409(self, staff_client, ended, frozen):
        if frozen:
            assert freezing.event_freeze(event_id=ended.pk).status == freezing.FROZEN
        response = staff_client.patch(f"{EVENTS}/{ended.slug}", {"name": "Rewritten"}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "event_ended"
        assert Event.objects.get(pk=ended.pk).name != "Rewritten"


class TestDelete:
    def test_staff_delete_an_upcoming_event(self, staff_client, upcoming, api_client, auth_client):
        assert api_client.delete(f"{EVENTS}/{upcoming.slug}").status_code == 401
        assert auth_client.delete(f"{EVENTS}/{upcoming.slug}").status_code == 403
        assert staff_client.delete(f"{EVENTS}/{upcoming.slug}").status_code == 204
        assert not Event.objects.filter(pk=upcoming.pk).exists()
        assert AuditEntry.objects.filter(action="event.delete").exists()

    @pytest.mark.parametrize("which", ["live", "ended"])
    def test_a_started_event_cannot_be_deleted_409(self, staff_client, request, which):
        event = request.getfixturevalue(which)
        response = staff_client.delete(f"{EVENTS}/{event.slug}")
        assert response.status_code == 409
        assert response.json()["code"] == "event_started"
        assert Event.objects.filter(pk=event.pk).exists()


class TestBoard:
    def board(self, client, event, **query):
        response = client.get(f"{EVENTS}/{event.slug}/leaderboard", query)
        assert response.status_code == 200, response.content
        return response.json()

    def test_the_live_board_ranks_xp_earned_in_the_event_with_competition_ranks(
        self, api_client, live, challenge
    ):
        scores = {"ann": 60, "bob": 60, "cyd": 100, "dee": 50}
        for name, score in scores.items():
            awards_process(attempt_ids=[graded(baker.make(User, username=name), challenge, score).pk])
        baker.make(User, username="hid", leaderboard_visible=False)
        hidden = User.objects.get(username="hid")
        awards_process(attempt_ids=[graded(hidden, challenge, 100).pk])

        data = self.board(api_client, live)

        assert (data["event"], data["final"], data["count"], data["offset"], data["limit"]) == (
            live.slug,
            False,
            4,
            0,
            10,
        )
        assert [(row["rank"], row["username"], row["xp"], row["level"]) for row in data["results"]] == [
            (1, "cyd", 150, 2),
            (2, "ann", 90, 1),
            (2, "bob", 90, 1),
            (4, "dee", 75, 1),
        ]
        assert set(data["results"][0]) == {
            "rank",
            "user_id",
            "username",
            "xp",
            "level",
        }  # /leaderboard's shape
        page = self.board(api_client, live, limit=2, offset=2)
        assert [(row["rank"], row["username"]) for row in page["results"]] == [(2, "bob"), (4, "dee")]

    def test_after_the_freeze_the_board_is_final(self, api_client, ended):
        awards_process(
            attempt_ids=[
                graded(
                    baker.make(User, username="amy"),
                    ended.challenges.get(),
                    100,
                    at=ended.ends_at - timedelta(hours=1),
                ).pk
            ]
        )
        assert self.board(api_client, ended)["final"] is False
        freezing.event_freeze(event_id=ended.pk)
        data = self.board(api_client, ended)
        assert data["final"] is True
        assert [(row["rank"], row["username"], row["xp"]) for row in data["results"]] == [(1, "amy", 150)]

    @pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}])
    def test_a_bad_page_is_400(self, api_client, live, query):
        assert api_client.get(f"{EVENTS}/{live.slug}/leaderboard", query).status_code == 400

    def test_an_unknown_events_board_is_404(self, api_client):
        response = api_client.get(f"{EVENTS}/nope/leaderboard")
        assert response.status_code == 404
        assert response.json()["code"] == "event_not_found"

    def test_the_board_costs_a_fixed_number_of_queries(
        self, api_client, live, challenge, django_assert_num_queries
    ):
        for index in range(30):
            awards_process(
                attempt_ids=[graded(baker.make(User, username=f"p{index:02d}"), challenge, 50 + index).pk]
            )
        with django_assert_num_queries(5):  # the event, its challenges, the page, the count, the first rank
            assert len(self.board(api_client, live, limit=25)["results"]) == 25
