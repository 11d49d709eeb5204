"""Final standings: frozen once when the event ends (scheduled job, sweep, racing freezers), then never
changed by anything that happens later."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from model_bakery import baker
from rest_framework.test import APIClient
from rq import SimpleWorker

from accounts.models import User
from accounts.personal_data.services import account_erase
from challenges.models import Attempt, Tag
from challenges.services import challenge_update
from challenges.tests.helpers import make_challenge
from progress.awards.services import awards_process
from progress.events import freezing, services
from progress.events.jobs import freeze_event
from progress.events.selectors import event_board
from progress.ledger.services import xp_grant, xp_recalculate
from progress.models import Event, EventStanding
from progress.tests.awards.test_concurrency import run_together
from progress.tests.events.helpers import graded, make_event
from skillquest.queue import default_queue

pytestmark = pytest.mark.django_db


def player(name: str, **fields) -> User:
    return baker.make(User, username=name, email=f"{name}@example.com", **fields)


def board_rows(event: Event) -> list[tuple]:
    event.refresh_from_db()
    page = event_board(event=event, limit=100)
    return [(row.rank, row.username, row.xp, row.level) for row in page.results]


@pytest.fixture
def finished():
    """An event that ended a minute ago, with a tie, a hidden player and a player outside it."""
    challenge, other = make_challenge(xp=100), make_challenge(xp=100)
    now = timezone.now()
    event = make_event(challenge, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(minutes=1))
    inside = now - timedelta(hours=1)
    scores = {"cyd": 100, "ann": 60, "bob": 60, "dee": 50}
    players = {name: player(name) for name in scores}
    hidden = player("hid", leaderboard_visible=False)
    attempts = [graded(players[name], challenge, score, at=inside) for name, score in scores.items()]
    attempts.append(graded(hidden, challenge, 100, at=inside))
    attempts.append(graded(players["dee"], other, 100, at=inside))  # not the event's challenge
    awards_process(attempt_ids=[attempt.pk for attempt in attempts])
    return {"event": event, "challenge": challenge, "players": players, "hidden": hidden}


def test_an_ended_event_freezes_its_standings_once(finished):
    event = finished["event"]
    live = board_rows(event)
    assert live == [(1, "cyd", 150, 2), (2, "ann", 90, 1), (2, "bob", 90, 1), (4, "dee", 75, 2)]
    assert event_board(event=event).final is False

    outcome = freezing.event_freeze(event_id=event.pk)

    assert (outcome.status, outcome.standings) == (freezing.FROZEN, 4)
    event.refresh_from_db()
    assert event.frozen_at is not None
    assert event_board(event=event).final is True
    assert board_rows(event) == live
    assert list(EventStanding.objects.filter(event=event).values_list("position", flat=True)) == [1, 2, 3, 4]
    assert freezing.event_freeze(event_id=event.pk).status == freezing.ALREADY_FROZEN
    assert EventStanding.objects.filter(event=event).count() == 4


def test_an_event_is_not_frozen_before_its_end():
    event = make_event(make_challenge())
    assert freezing.event_freeze(event_id=event.pk).status == freezing.NOT_ENDED
    assert freezing.event_freeze(event_id=event.pk, now=event.ends_at - timedelta(microseconds=1)).status == (
        freezing.NOT_ENDED
    )
    assert freezing.event_freeze(event_id=event.pk, now=event.ends_at).status == freezing.FROZEN


def test_an_unknown_event_is_no_such_event():
    assert freezing.event_freeze(event_id=uuid.uuid4()).status == freezing.NO_SUCH_EVENT


def test_the_freeze_first_awards_attempts_of_the_event_still_waiting(finished):
    event, challenge = finished["event"], finished["challenge"]
    late = player("eve")
    waiting = graded(late, challenge, 100, at=event.ends_at - timedelta(seconds=1))

    assert freezing.event_freeze(event_id=event.pk).status == freezing.FROZEN

    assert Attempt.objects.get(pk=waiting.pk).xp_awarded == 100
    assert ("eve", 150) in [(row[1], row[2]) for row in board_rows(event)]


def change_attempt_after_the_end(finished):
    """A new attempt on the event's challenge, graded after the end."""
    fresh = player("zed")
    awards_process(attempt_ids=[graded(fresh, finished["challenge"], 100).pk])


def change_late_award_of_an_attempt_graded_inside(finished):
    """An attempt graded inside the window but awarded after the freeze still earns its bonus (the
    rule is the grading time); the frozen board does not move."""
    event = finished["event"]
    attempt = graded(
        finished["players"]["dee"], finished["challenge"], 100, at=event.ends_at - timedelta(seconds=2)
    )
    [award] = awards_process(attempt_ids=[attempt.pk])
    assert award.bonus == 25


def change_grant_and_revocation(finished):
    staff = player("boss", is_staff=True)
    xp_grant(user_id=finished["players"]["dee"].pk, amount=5000, reason="Prize", actor=staff)
    xp_grant(user_id=finished["players"]["cyd"].pk, amount=-150, reason="Cheated", actor=staff)


def change_recalculation(finished):
    challenge = finished["challenge"]
    challenge.xp = 10
    challenge.save()
    result = xp_recalculate()
    assert result["players_changed"] >= 4


def change_challenge_edits(finished):
    challenge, staff = finished["challenge"], player("boss", is_staff=True)
    tag = Tag.objects.create(name="Retagged", slug="retagged")
    challenge_update(challenge=challenge, actor=staff, xp=5, pass_score=95, tags=[tag])
    xp_recalculate()


def change_opt_out_and_back_in_of_a_hidden_player(finished):
    """Someone hidden when it froze who shows themselves later does not join the final board."""
    User.objects.filter(pk=finished["hidden"].pk).update(leaderboard_visible=True)


@pytest.mark.parametrize(
    "change",
    [
        change_attempt_after_the_end,
        change_late_award_of_an_attempt_graded_inside,
        change_grant_and_revocation,
        change_recalculation,
        change_challenge_edits,
        change_opt_out_and_back_in_of_a_hidden_player,
    ],
)
def test_the_final_standings_never_change_afterwards(finished, change: Callable):
    event = finished["event"]
    assert freezing.event_freeze(event_id=event.pk).status == freezing.FROZEN
    final = board_rows(event)

    change(finished)

    assert board_rows(event) == final
    assert freezing.event_freeze(event_id=event.pk).status == freezing.ALREADY_FROZEN
    assert board_rows(event) == final


def test_a_player_who_opts_out_after_the_freeze_leaves_the_board_and_the_others_keep_their_ranks(finished):
    event, players = finished["event"], finished["players"]
    freezing.event_freeze(event_id=event.pk)

    User.objects.filter(pk=players["ann"].pk).update(leaderboard_visible=False)
    assert board_rows(event) == [(1, "cyd", 150, 2), (2, "bob", 90, 1), (4, "dee", 75, 2)]
    assert event_board(event=event).count == 3

    User.objects.filter(pk=players["ann"].pk).update(leaderboard_visible=True)  # back, at the frozen rank
    assert board_rows(event)[1] == (2, "ann", 90, 1)


def test_hidden_players_are_absent_from_live_and_final_boards(finished):
    event = finished["event"]
    assert "hid" not in [row[1] for row in board_rows(event)]
    freezing.event_freeze(event_id=event.pk)
    assert not EventStanding.objects.filter(user=finished["hidden"]).exists()
    assert "hid" not in [row[1] for row in board_rows(event)]


def test_an_erased_account_leaves_the_final_board(finished):
    event = finished["event"]
    freezing.event_freeze(event_id=event.pk)
    account_erase(user=finished["players"]["cyd"])
    assert [row[1] for row in board_rows(event)] == ["ann", "bob", "dee"]
    assert board_rows(event)[0][0] == 2  # the others keep their frozen ranks


@pytest.mark.django_db(transaction=True)
def test_two_racing_freezers_write_one_snapshot(finished):
    event = finished["event"]
    outcomes = run_together([lambda: freezing.event_freeze(event_id=event.pk).status for _ in range(4)])
    assert sorted(outcomes) == [freezing.ALREADY_FROZEN] * 3 + [freezing.FROZEN]
    assert EventStanding.objects.filter(event=event).count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_freeze_waits_while_another_worker_is_awarding_an_attempt_that_counts(finished, settings):
    settings.JOBS_IN_PROCESS = False
    event = finished["event"]
    busy = graded(player("eve"), finished["challenge"], 100, at=event.ends_at - timedelta(seconds=1))
    claimed, release = threading.Event(), threading.Event()

    def award_job_holding_the_claim():
        with transaction.atomic():
            Attempt.objects.select_for_update().get(pk=busy.pk)  # as a claim of another award job
            claimed.set()
            release.wait(timeout=10)
        connection.close()

    holder = threading.Thread(target=award_job_holding_the_claim)
    holder.start()
    assert claimed.wait(timeout=10)
    try:
        result = freeze_event(str(event.pk))
    finally:
        release.set()
        holder.join(timeout=10)

    assert result["status"] == freezing.AWARDS_PENDING
    assert Event.objects.get(pk=event.pk).frozen_at is None
    assert len(default_queue().scheduled_job_registry) == 1  # it tries again shortly
    assert freeze_event(str(event.pk))["status"] == freezing.FROZEN
    assert ("eve", 150) in [(row[1], row[2]) for row in board_rows(event)]


@pytest.mark.django_db(transaction=True)
def test_the_freeze_scheduled_at_creation_runs_on_the_worker_at_the_end(staff_user, settings):
    settings.JOBS_IN_PROCESS = False
    settings.EVENT_FREEZE_DELAY_SECONDS = 0
    challenge = make_challenge(xp=100)
    now = timezone.now()
    event = services.event_create(
        actor=staff_user,
        name="Blink",
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(seconds=3),
        challenge_ids=[challenge.pk],
        xp_multiplier=Decimal("2.00"),
    )
    queue = default_queue()
    [job_id] = queue.scheduled_job_registry.get_job_ids()
    assert job_id == f"event-freeze-{event.pk}-{int(event.ends_at.timestamp())}"
    while timezone.now() <= event.starts_at:
        time.sleep(0.05)
    awards_process(attempt_ids=[graded(player("amy"), challenge, 100).pk])  # inside the window
    while timezone.now() < event.ends_at + timedelta(milliseconds=100):
        time.sleep(0.1)

    SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)

    event.refresh_from_db()
    assert event.frozen_at is not None
    assert board_rows(event) == [(1, "amy", 200, 2)]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_freezes_an_ended_event_whose_job_was_lost(finished, settings):
    settings.JOBS_IN_PROCESS = False
    event = finished["event"]  # made without any scheduled job, as if Redis had lost it

    call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
    queue = default_queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    assert Event.objects.get(pk=event.pk).frozen_at is not None
    call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert queue.count == 0  # nothing left to sweep


def test_a_players_final_standings_are_in_their_data_export(finished):
    event, cyd = finished["event"], finished["players"]["cyd"]
    freezing.event_freeze(event_id=event.pk)
    client = APIClient()
    client.force_authenticate(cyd)
    response = client.get("/api/v1/auth/me/export")
    document = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert document["event_standings"] == [
        {"event__slug": event.slug, "event__name": event.name, "rank": 1, "xp": 150, "level": 2}
    ]
    assert sorted(entry["kind"] for entry in document["xp_entries"]) == ["attempt", "event_bonus"]
