"""Real threads against real PostgreSQL: no XP lost, no submission or award counted twice."""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
from django.db.models import Sum

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import drain_queue, make_challenge, queued_count, start, submit
from progress import jobs
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
    assert totals(user) == (90, 90)
    drain_queue()  # the job queued at submit now finds nothing to do
    assert totals(user) == (90, 90)


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
