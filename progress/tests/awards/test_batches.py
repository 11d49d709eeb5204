from __future__ import annotations

import threading
from datetime import timedelta

import django_rq
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.services import attempt_start, attempt_submit
from progress import jobs
from progress.awards import rules
from progress.awards import services as award_services
from progress.ledger.services import xp_recalculate


def _pending(users, challenges, per_user: int) -> list[Attempt]:
    attempts = []
    for user in users:
        for index in range(per_user):
            challenge = challenges[index % len(challenges)]
            score = (index * 37 + 11) % 101
            status = Attempt.Status.PASSED if score >= challenge.pass_score else Attempt.Status.FAILED
            attempts.append(Attempt(user=user, challenge=challenge, score=score, status=status))
    return Attempt.objects.bulk_create(attempts)


def _nothing_to_recalculate() -> bool:
    result = xp_recalculate(dry_run=True)
    return (result["players_changed"], result["projections_repaired"]) == (0, 0)


def _assert_consistent(users):
    for user in User.objects.filter(pk__in=[u.pk for u in users]):
        paid = Attempt.objects.filter(user=user).aggregate(total=Sum("xp_awarded"))["total"] or 0
        assert user.total_xp == paid == sum(user.xp_entries.values_list("amount", flat=True))
        assert user.level == rules.level_for_xp(paid)


@pytest.mark.django_db
def test_a_batch_applies_the_best_result_rule_in_order():
    user = baker.make(User)
    challenge = baker.make(Challenge, xp=100, pass_score=50, published=True)
    scores = [60, 90, 70, 100, 40]
    start = timezone.now()
    for second, score in enumerate(scores):
        status = Attempt.Status.PASSED if score >= 50 else Attempt.Status.FAILED
        submitted = start + timedelta(seconds=second)
        Attempt.objects.create(
            user=user, challenge=challenge, score=score, status=status, submitted_at=submitted
        )
    awards = award_services.awards_process()
    assert [a.xp for a in awards] == [60, 30, 0, 10, 0]
    user.refresh_from_db()
    assert user.total_xp == 100
    assert award_services.awards_process() == []
    assert _nothing_to_recalculate()


@pytest.mark.django_db
def test_batch_size_limits_one_claim():
    users = baker.make(User, _quantity=3)
    challenge = baker.make(Challenge, xp=10, pass_score=0, published=True)
    _pending(users, [challenge], per_user=4)
    assert len(award_services.awards_process(limit=5)) == 5
    assert Attempt.objects.award_pending().count() == 7


@pytest.mark.django_db(transaction=True)
def test_parallel_drains_award_every_attempt_exactly_once():
    users = [baker.make(User, username=f"racer{i}", email=f"r{i}@example.com") for i in range(6)]
    challenges = baker.make(Challenge, xp=90, pass_score=40, published=True, _quantity=3)
    attempts = _pending(users, challenges, per_user=30)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def drain():
        try:
            barrier.wait()
            while award_services.awards_process(limit=7):
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not Attempt.objects.filter(xp_awarded__isnull=True).exists()
    assert Attempt.objects.filter(pk__in=[a.pk for a in attempts]).count() == 180
    _assert_consistent(users)
    assert _nothing_to_recalculate()


@pytest.mark.django_db(transaction=True)
def test_many_submissions_share_one_waiting_job_that_awards_them_all():
    users = [baker.make(User, username=f"sub{i}", email=f"s{i}@example.com") for i in range(5)]
    challenge = baker.make(Challenge, xp=50, pass_score=0, published=True)
    for user in users:
        attempt = attempt_start(user=user, challenge_id=challenge.pk)
        attempt_submit(user=user, attempt_id=attempt.pk, score=100)
    queue = django_rq.get_queue("default")
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert set(User.objects.filter(pk__in=[u.pk for u in users]).values_list("total_xp", flat=True)) == {50}
    # The job released its slot when it started: the next submission enqueues a fresh job.
    attempt = attempt_start(user=users[0], challenge_id=challenge.pk)
    attempt_submit(user=users[0], attempt_id=attempt.pk, score=100)
    assert queue.count == 1


@pytest.mark.django_db(transaction=True)
def test_a_backlog_larger_than_one_job_is_handed_on(monkeypatch):
    monkeypatch.setattr(jobs, "MAX_BATCHES_PER_JOB", 1)
    monkeypatch.setattr(jobs, "AWARD_BATCH_SIZE", 3)
    users = baker.make(User, _quantity=2)
    challenge = baker.make(Challenge, xp=10, pass_score=0, published=True)
    _pending(users, [challenge], per_user=5)
    assert jobs.schedule_award(None, force=True)
    queue = django_rq.get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert Attempt.objects.award_pending().count() == 0
    _assert_consistent(users)
