"""Real threads against real PostgreSQL: no XP lost, no submission or award counted twice."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from functools import partial

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import drain_queue, make_challenge, queued_count, start, submit
from progress import jobs
from progress.awards import services as award_services
from skillquest.queue import default_queue
from skillquest.tests.helpers import client_for, run_together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


@pytest.fixture(autouse=True)
def _on_the_worker(settings):
    settings.JOBS_IN_PROCESS = False


def totals(user) -> tuple[int, int]:
    paid = Attempt.objects.filter(user=user).aggregate(total=Sum("xp_awarded"))["total"] or 0
    return User.objects.get(pk=user.pk).total_xp, paid


def test_concurrent_submits_of_different_attempts_lose_no_xp(user):
    challenges = [make_challenge(xp=10 * (n + 1)) for n in range(THREADS)]
    ids = [start(client_for(user), challenge) for challenge in challenges]

    def submitter(attempt_id):
        return lambda: submit(client_for(user), attempt_id, score=100).status_code

    statuses = run_together([submitter(attempt_id) for attempt_id in ids])

    assert statuses == [200] * THREADS
    # Submissions made while an award job waits share it (it claims every pending attempt).
    assert 1 <= queued_count() <= THREADS
    drain_queue()
    expected = sum(c.xp for c in challenges)  # 10 + 20 + ... + 80 = 360
    assert totals(user) == (expected, expected)
    assert User.objects.get(pk=user.pk).level == 2


def test_concurrent_submits_of_one_attempt_let_exactly_one_win(user):
    attempt_id = start(client_for(user), make_challenge(xp=100))

    def submitter(score):
        return lambda: submit(client_for(user), attempt_id, score=score)

    responses = run_together([submitter(score) for score in range(60, 60 + THREADS)])

    assert Counter(r.status_code for r in responses) == {200: 1, 409: THREADS - 1}
    [winner] = [r.json() for r in responses if r.status_code == 200]
    attempt = Attempt.objects.get(pk=attempt_id)
    assert (attempt.status, attempt.score) == ("passed", winner["score"])
    assert queued_count() == 1
    drain_queue()
    assert totals(user) == (winner["score"], winner["score"])


def test_the_same_award_job_run_in_parallel_awards_once(user):
    attempt_id = start(client_for(user), make_challenge(xp=100))
    assert submit(client_for(user), attempt_id, score=90).status_code == 200

    results = run_together([lambda: jobs.award_xp_and_badges(attempt_id) for _ in range(THREADS)])

    assert sum(result["awarded"] for result in results) == 1
    assert Attempt.objects.get(pk=attempt_id).xp_awarded == 90

    drain_queue()  # the job queued at submit now finds nothing to do


def test_parallel_awards_of_one_challenge_pay_the_best_result_once(user):
    challenge = make_challenge(xp=100)
    client = client_for(user)
    scores = [55, 90, 70, 100, 60, 85, 95, 75]
    ids = [start(client, challenge) for _ in scores]
    for attempt_id, score in zip(ids, scores, strict=True):
        assert submit(client, attempt_id, score=score).status_code == 200

    run_together([partial(jobs.award_xp_and_badges, attempt_id) for attempt_id in ids])

    assert totals(user) == (100, 100)
    assert Attempt.objects.filter(pk__in=ids, xp_awarded__isnull=True).count() == 0
    assert User.objects.get(pk=user.pk).level == 2


def test_two_batches_at_once_claim_disjoint_players(user, django_user_model):
    """A batch locks its players with its attempts, so a second batch skips every attempt of theirs
    (it would otherwise wait for the first one's commit) and takes the other players' instead."""
    other = django_user_model.objects.create_user(username="other", email="o@example.com", password="x")
    challenge = make_challenge(xp=10)
    first, later = (start(client_for(user), challenge) for _ in range(2))
    elsewhere = start(client_for(other), challenge)
    for attempt_id in (first, elsewhere, later):
        assert (
            submit(client_for(user if attempt_id != elsewhere else other), attempt_id, score=90).status_code
            == 200
        )
    held, release = threading.Event(), threading.Event()

    def first_batch():
        with transaction.atomic():
            claimed = award_services._claim(attempt_ids=[uuid.UUID(first)], limit=10, skip_held_players=True)
            held.set()
            release.wait(timeout=10)
        return [c.attempt_id for c in claimed]

    def second_batch():
        held.wait(timeout=10)
        try:
            with transaction.atomic():
                claimed = award_services._claim(attempt_ids=None, limit=10, skip_held_players=True)
                return [c.attempt_id for c in claimed]
        finally:
            release.set()

    claimed_first, claimed_second = run_together([first_batch, second_batch])
    assert [str(pk) for pk in claimed_first] == [first]
    # `later` is the user's too: skipped while the first batch holds them, not claimed beside it.
    assert [str(pk) for pk in claimed_second] == [elsewhere]


def test_a_job_that_finds_a_backlog_leaves_a_job_waiting_for_another_worker(user, monkeypatch):
    monkeypatch.setattr(jobs, "AWARD_BATCH_SIZE", 2)
    challenge = make_challenge(xp=10)
    client = client_for(user)
    ids = [start(client, challenge) for _ in range(5)]
    for attempt_id in ids:
        assert submit(client, attempt_id, score=90).status_code == 200
    default_queue().empty()  # the submissions' own job: this test runs one by hand

    result = jobs.award_xp_and_badges()

    assert result["awarded"] == 5
    # Its full batches asked for help: one job waits (the award slot keeps it at one).
    assert queued_count() == 1
    assert drain_queue() == 1  # the helper finds the backlog gone and does nothing
    assert totals(user) == (9, 9)  # 90 % of 10 XP, paid once (the best-result rule)


def test_a_job_that_skipped_a_held_player_waits_for_them_before_it_stops(user):
    """The drain skips players another batch holds, but a job never ends leaving their attempts
    behind: its last claim waits for them."""
    challenge = make_challenge(xp=10)
    held_attempt, skipped = (start(client_for(user), challenge) for _ in range(2))
    for attempt_id in (held_attempt, skipped):
        assert submit(client_for(user), attempt_id, score=90).status_code == 200

    held = threading.Event()

    def holder():
        with transaction.atomic():
            award_services._claim(attempt_ids=[uuid.UUID(held_attempt)], limit=10, skip_held_players=True)
            held.set()
            # Hold the player until the job's last claim waits for the lock (then end unawarded).
            for _ in range(500):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction sees one otherwise
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                    )
                    if cursor.fetchone()[0]:
                        return "waited for"
                threading.Event().wait(0.02)
        return "never waited for"

    def job():
        held.wait(timeout=10)
        return jobs.award_xp_and_badges()

    waited, result = run_together([holder, job])
    assert waited == "waited for"
    assert result["awarded"] == 1
    assert Attempt.objects.get(pk=skipped).xp_awarded == 9
    assert Attempt.objects.get(pk=held_attempt).xp_awarded is None  # the holder never awarded it
