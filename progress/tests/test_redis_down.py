"""Redis unreachable at submit: the submission is kept and awarded later; failing jobs retry then fail."""

from __future__ import annotations

import copy

import django_rq
import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, transaction
from rq import Retry
from rq.job import Job

from accounts.models import User
from challenges.models import Attempt
from challenges.tests.helpers import drain_queue, make_challenge, queued_count, start, submit
from progress import jobs
from progress.awards import services as award_services
from skillquest import queue as sq_queue

CLOSED_PORT = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """Point the RQ queue at a closed port; yields a function that brings Redis back."""
    working = copy.deepcopy(settings.RQ_QUEUES)
    settings.JOBS_IN_PROCESS = False
    settings.RQ_QUEUES = {"default": {**working["default"], "URL": CLOSED_PORT}}

    def restore():
        settings.RQ_QUEUES = working

    yield restore
    restore()


@pytest.mark.django_db(transaction=True)
class TestRedisDownAtSubmit:
    def test_submit_succeeds_and_attempt_stays_pending(self, auth_client, user, redis_down):
        attempt_id = start(auth_client, make_challenge(xp=100))
        response = submit(auth_client, attempt_id, score=80)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "passed"
        attempt = Attempt.objects.get(pk=attempt_id)
        assert (attempt.status, attempt.score, attempt.xp_awarded) == ("passed", 80, None)
        assert Attempt.objects.award_pending().count() == 1

    def test_award_pending_then_worker_awards_each_once(self, auth_client, user, redis_down):
        first, second = make_challenge(xp=100), make_challenge(xp=40)
        ids = [start(auth_client, first), start(auth_client, second)]
        assert submit(auth_client, ids[0], score=80).status_code == 200
        assert submit(auth_client, ids[1], score=50).status_code == 200
        redis_down()
        assert queued_count() == 0

        call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert queued_count() == 1  # one job claims every pending attempt
        assert drain_queue() == 1
        # A second sweep finds nothing; a replayed job changes nothing.
        call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert queued_count() == 0
        for attempt_id in ids:
            jobs.award_xp_and_badges(attempt_id)

        awarded = dict(Attempt.objects.filter(pk__in=ids).values_list("id", "xp_awarded"))
        assert sorted(xp for xp in awarded.values() if xp is not None) == [20, 80]
        assert User.objects.get(pk=user.pk).total_xp == 100

    def test_award_pending_fails_loudly_when_it_cannot_schedule(self, auth_client, user, redis_down):
        attempt_id = start(auth_client, make_challenge())
        assert submit(auth_client, attempt_id, score=90).status_code == 200

        with pytest.raises(CommandError, match="could not be scheduled"):
            call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert Attempt.objects.get(pk=attempt_id).xp_awarded is None


@pytest.mark.django_db
def test_award_pending_fails_loudly_inside_a_transaction_too(auth_client, user, redis_down):
    """Scheduling is judged when asked, not deferred to a commit that would hide the failure."""
    challenge = make_challenge()
    attempt = Attempt.objects.create(user=user, challenge=challenge, status="passed", score=90)
    with transaction.atomic(), pytest.raises(CommandError):
        call_command("award_pending", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Attempt.objects.get(pk=attempt.pk).xp_awarded is None


@pytest.mark.django_db(transaction=True)
class TestRetries:
    def test_award_job_is_enqueued_with_the_retry_policy(self, auth_client, user, settings):
        settings.JOBS_IN_PROCESS = False
        attempt_id = start(auth_client, make_challenge())
        assert submit(auth_client, attempt_id, score=90).status_code == 200

        queue = django_rq.get_queue("default")
        [job] = queue.get_jobs()
        assert job.func_name == "progress.jobs.award_xp_and_badges"
        assert job.args == (attempt_id,)
        assert job.retries_left == sq_queue.DEFAULT_RETRY.max == 3
        assert job.retry_intervals == [2, 10, 60]

    def test_transient_failure_is_retried_later_not_dropped(self, auth_client, user, settings, monkeypatch):
        settings.JOBS_IN_PROCESS = False
        attempt_id = start(auth_client, make_challenge(xp=50))
        assert submit(auth_client, attempt_id, score=100).status_code == 200
        real_award = award_services.awards_process
        calls = []

        def flaky_award(**kwargs):
            calls.append(kwargs)
            if len(calls) == 1:
                raise OperationalError("database briefly unavailable")
            return real_award(**kwargs)

        monkeypatch.setattr(jobs, "awards_process", flaky_award)
        queue = django_rq.get_queue("default")
        [job] = queue.get_jobs()
        drain_queue()

        job = Job.fetch(job.id, connection=queue.connection)
        assert job.get_status() == "scheduled"
        assert job.id in queue.scheduled_job_registry.get_job_ids()
        assert job.retries_left == 2
        assert Attempt.objects.get(pk=attempt_id).xp_awarded is None

        # The scheduler would re-queue it after the back-off; do so now instead of waiting.
        queue.scheduled_job_registry.remove(job)
        queue.enqueue_job(job)
        drain_queue()
        assert len(calls) >= 2  # the failed call, then the retry's calls (one per batch)
        assert Attempt.objects.get(pk=attempt_id).xp_awarded == 50
        assert User.objects.get(pk=user.pk).total_xp == 50

    def test_job_that_keeps_failing_ends_in_failed_registry(self, auth_client, user, settings, monkeypatch):
        settings.JOBS_IN_PROCESS = False
        # No back-off, so one burst worker walks through every retry.
        monkeypatch.setattr(sq_queue, "DEFAULT_RETRY", Retry(max=2))
        attempt_id = start(auth_client, make_challenge())
        calls = []

        def broken_award(**kwargs):
            calls.append(kwargs)
            raise OperationalError("database is gone")

        monkeypatch.setattr(jobs, "awards_process", broken_award)
        assert submit(auth_client, attempt_id, score=90).status_code == 200
        queue = django_rq.get_queue("default")
        [job_id] = queue.job_ids
        drain_queue()

        assert len(calls) == 3  # the first run and two retries
        assert job_id in queue.failed_job_registry.get_job_ids()
        job = Job.fetch(job_id, connection=queue.connection)
        result = job.latest_result()
        assert result is not None and result.exc_string is not None
        assert "database is gone" in result.exc_string
        # Still pending, so the sweep will pick it up once the cause is fixed.
        assert Attempt.objects.award_pending().count() == 1
