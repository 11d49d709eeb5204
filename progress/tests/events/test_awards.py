"""Event bonuses in the award job: paid once, inside the job's transaction, only for attempts that count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import drain_queue, make_challenge, queued_count, start, submit
from progress import jobs
from progress.awards.services import awards_process
from progress.events.selectors import event_board
from progress.ledger.selectors import ledger_mismatches
from progress.ledger.services import xp_recalculate
from progress.models import Badge, UserBadge, XpEntry
from progress.tests.events.helpers import graded, make_event

pytestmark = pytest.mark.django_db


def entries(user) -> list[tuple[str, int, object]]:
    return sorted(
        XpEntry.objects.filter(user=user).values_list("kind", "amount", "event_id"), key=lambda row: row[:2]
    )


def test_an_attempt_in_a_live_event_earns_its_bonus_once(user):
    challenge = make_challenge(xp=100)
    event = make_event(challenge, multiplier="1.50")
    attempt = graded(user, challenge, 90)

    [award] = awards_process(attempt_ids=[attempt.pk])

    assert (award.xp, award.bonus, award.total_xp) == (90, 45, 135)
    assert entries(user) == [("attempt", 90, event.pk), ("event_bonus", 45, event.pk)]
    bonus = XpEntry.objects.get(kind="event_bonus")
    assert (bonus.attempt_id, bonus.idempotency_key) == (attempt.pk, f"event_bonus:{attempt.pk}")
    assert bonus.explanation == {"event": event.slug, "multiplier": "1.50", "paid": 90, "bonus": 45}
    assert User.objects.get(pk=user.pk).total_xp == 135
    assert awards_process(attempt_ids=[attempt.pk]) == []  # a replay pays nothing
    assert len(entries(user)) == 2
    assert ledger_mismatches() == []


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(lambda event: event.starts_at - timedelta(microseconds=1), id="just-before-the-start"),
        pytest.param(lambda event: event.ends_at, id="at-the-end"),
        pytest.param(lambda event: event.ends_at + timedelta(days=1), id="after-the-end"),
    ],
)
def test_an_attempt_graded_outside_the_window_earns_no_bonus_and_is_not_counted(user, moment):
    challenge = make_challenge(xp=100)
    event = make_event(challenge)
    attempt = graded(user, challenge, 100, at=moment(event))

    [award] = awards_process(attempt_ids=[attempt.pk])

    assert (award.xp, award.bonus, award.event) == (100, 0, None)
    assert entries(user) == [("attempt", 100, None)]


def test_an_attempt_graded_at_the_first_instant_counts(user):
    challenge = make_challenge(xp=100)
    event = make_event(challenge)
    awards_process(attempt_ids=[graded(user, challenge, 100, at=event.starts_at).pk])
    assert entries(user) == [("attempt", 100, event.pk), ("event_bonus", 50, event.pk)]


def test_a_challenge_outside_the_event_earns_no_bonus(user):
    make_event(make_challenge(xp=100))
    awards_process(attempt_ids=[graded(user, make_challenge(xp=100), 100).pk])
    assert entries(user) == [("attempt", 100, None)]


def test_at_multiplier_one_an_attempt_counts_on_the_board_without_a_bonus_entry(user):
    challenge = make_challenge(xp=60)
    event = make_event(challenge, multiplier="1.00")
    awards_process(attempt_ids=[graded(user, challenge, 100).pk])
    assert entries(user) == [("attempt", 60, event.pk)]
    assert [(row.username, row.xp) for row in event_board(event=event).results] == [(user.username, 60)]


def test_the_bonus_is_on_what_the_attempt_paid_only_the_improvement(user):
    challenge = make_challenge(xp=100)
    make_event(challenge, multiplier="2.00")
    first, second, third = (graded(user, challenge, score) for score in (60, 90, 70))
    awards = awards_process(attempt_ids=[first.pk, second.pk, third.pk])
    assert [(award.xp, award.bonus) for award in awards] == [(60, 60), (30, 30), (0, 0)]
    assert User.objects.get(pk=user.pk).total_xp == 180
    assert XpEntry.objects.filter(attempt=third).count() == 0  # paid nothing: no entry, no bonus


def test_a_bonus_that_crosses_a_level_levels_up_and_earns_the_badges_of_the_new_total(user):
    challenge = make_challenge(xp=80)
    make_event(challenge, multiplier="1.50")
    Badge.objects.create(name="Hundred", slug="hundred", condition={"type": "xp", "threshold": 100})

    [award] = awards_process(attempt_ids=[graded(user, challenge, 100).pk])

    assert (award.xp, award.bonus, award.total_xp, award.level, award.levelled_up) == (80, 40, 120, 2, True)
    assert award.badges == ("hundred",)
    assert UserBadge.objects.filter(user=user, badge__slug="hundred").exists()


def test_the_bonus_survives_recalculation_and_totals_still_equal_the_ledger(user, staff_user):
    challenge = make_challenge(xp=100)
    event = make_event(challenge, multiplier="1.50")
    awards_process(attempt_ids=[graded(user, challenge, 100).pk])
    assert xp_recalculate(dry_run=True)["players_changed"] == 0  # nothing to correct

    challenge.xp = 40  # staff make the challenge cheaper: the award is revalued, the bonus stands
    challenge.save()
    result = xp_recalculate(actor_id=staff_user.pk)

    assert result["changes"][0]["before"] == 150 and result["changes"][0]["after"] == 90
    assert XpEntry.objects.filter(kind="event_bonus", amount=50).count() == 1
    assert User.objects.get(pk=user.pk).total_xp == 90
    assert ledger_mismatches() == []
    assert xp_recalculate(dry_run=True)["players_changed"] == 0
    # The event's board counts what the event's entries paid; a recalculation entry is not one of them.
    assert [row.xp for row in event_board(event=event).results] == [150]


@pytest.mark.django_db(transaction=True)
def test_replayed_and_duplicated_award_jobs_on_a_real_worker_pay_the_bonus_once(settings):
    settings.JOBS_IN_PROCESS = False
    player = baker.make(User, username="sprinter")
    challenge = make_challenge(xp=100)
    event = make_event(challenge, multiplier="1.50")
    client = APIClient()
    client.force_authenticate(player)
    attempt_id = start(client, challenge)
    assert submit(client, attempt_id, score=80).status_code == 200
    for _ in range(3):  # the submit's own job, plus duplicates as a sweep or a retry would add
        assert jobs.schedule_award(None, force=True)
    assert queued_count() == 4

    assert drain_queue() == 4
    for _ in range(2):  # and replays after the fact
        jobs.award_xp_and_badges(attempt_id)

    assert XpEntry.objects.filter(kind="event_bonus").count() == 1
    assert XpEntry.objects.get(kind="event_bonus").amount == 40
    assert User.objects.get(pk=player.pk).total_xp == 120
    assert Attempt.objects.get(pk=attempt_id).xp_awarded == 80
    assert [(row.username, row.xp) for row in event_board(event=event).results] == [("sprinter", 120)]
    assert ledger_mismatches() == []
