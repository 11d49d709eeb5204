"""The award job through the API and a real RQ worker: scheduled after commit, awarded exactly once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import django_rq
import pytest
from django.db import transaction
from django.db.models import Sum
from rq import SimpleWorker, get_current_job

from accounts.models import User
from challenges import services as challenge_services
from challenges.models import Attempt
from challenges.tests.helpers import drain_queue, make_challenge, queued_count, start, submit
from progress import jobs
from skillquest.logging import JsonFormatter

AWARD_JOB = "progress.jobs.award_xp_and_badges"


def xp_sum(user) -> int:
    return Attempt.objects.filter(user=user).aggregate(total=Sum("xp_awarded"))["total"] or 0


def total_xp(user) -> int:
    return User.objects.get(pk=user.pk).total_xp


@pytest.fixture(autouse=True)
def _on_the_worker(settings):
    settings.JOBS_IN_PROCESS = False


@pytest.mark.django_db
class TestScheduling:
    def test_submit_enqueues_the_award_only_after_commit(
        self, auth_client, django_capture_on_commit_callbacks
    ):
        attempt_id = start(auth_client, make_challenge())
        with django_capture_on_commit_callbacks() as callbacks:
            assert submit(auth_client, attempt_id, score=80).status_code == 200
            assert queued_count() == 0
        assert callbacks
        assert queued_count() == 0  # the transaction has not committed yet
        for callback in callbacks:
            callback()
        [job] = django_rq.get_queue("default").get_jobs()
        assert (job.func_name, job.args) == (AWARD_JOB, (attempt_id,))

    def test_no_job_while_the_submitting_transaction_is_open(self, user, django_capture_on_commit_callbacks):
        attempt = Attempt.objects.create(user=user, challenge=make_challenge())
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            challenge_services.attempt_submit(user=user, attempt_id=attempt.pk, score=70)
            assert queued_count() == 0
        assert callbacks
        assert queued_count() == 1

    def test_starting_an_attempt_schedules_nothing(self, auth_client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            start(auth_client, make_challenge())
        assert callbacks == []
        assert queued_count() == 0

    def test_a_rejected_submit_schedules_nothing(self, auth_client, django_capture_on_commit_callbacks):
        attempt_id = start(auth_client, make_challenge())
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert submit(auth_client, attempt_id, score=101).status_code == 400
        assert callbacks == []
        assert queued_count() == 0

    def test_saving_an_awarded_attempt_schedules_nothing(self, user, django_capture_on_commit_callbacks):
        attempt = Attempt.objects.create(
            user=user, challenge=make_challenge(), status="passed", score=90, xp_awarded=90
        )
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            attempt.save()
        assert callbacks == []
        assert queued_count() == 0


@pytest.mark.django_db(transaction=True)
class TestWorker:
    def test_burst_worker_awards_xp_and_level(self, auth_client, user):
        attempt_id = start(auth_client, make_challenge(xp=150))
        assert submit(auth_client, attempt_id, score=95).status_code == 200
        assert Attempt.objects.get(pk=attempt_id).xp_awarded is None
        assert queued_count() == 1

        assert drain_queue() == 1

        attempt = Attempt.objects.get(pk=attempt_id)
        assert attempt.xp_awarded == 143  # 142.5 rounds half up
        assert attempt.awarded_at is not None
        fresh = User.objects.get(pk=user.pk)
        assert (fresh.total_xp, fresh.level) == (143, 2)
        # The job's own save of the attempt does not schedule another award.
        assert queued_count() == 0
        assert len(django_rq.get_queue("default").finished_job_registry) == 1

    def test_failed_attempt_awards_zero(self, auth_client, user):
        attempt_id = start(auth_client, make_challenge(xp=100, pass_score=60))
        assert submit(auth_client, attempt_id, score=59).json()["status"] == "failed"
        drain_queue()
        assert Attempt.objects.get(pk=attempt_id).xp_awarded == 0
        assert (total_xp(user), User.objects.get(pk=user.pk).level) == (0, 1)

    def test_job_run_twice_awards_once(self, auth_client, user):
        attempt_id = start(auth_client, make_challenge(xp=100))
        assert submit(auth_client, attempt_id, score=80).status_code == 200
        queue = django_rq.get_queue("default")
        queue.enqueue(jobs.award_xp_and_badges, attempt_id)  # a duplicate delivery
        assert drain_queue() == 2
        assert jobs.award_xp_and_badges(attempt_id) == {
            "awarded": 0,
            "badges": [],
            "quests": [],
        }  # and a third, by hand
        assert Attempt.objects.get(pk=attempt_id).xp_awarded == 80
        assert total_xp(user) == 80

    def test_repeats_pay_only_the_best_result(self, auth_client, user):
        challenge = make_challenge(xp=100)
        awarded = []
        for score in [40, 60, 50, 90, 90, 100]:
            attempt_id = start(auth_client, challenge)
            assert submit(auth_client, attempt_id, score=score).status_code == 200
            drain_queue()
            awarded.append(Attempt.objects.get(pk=attempt_id).xp_awarded)
            assert xp_sum(user) == total_xp(user)
        assert awarded == [0, 60, 0, 30, 0, 10]
        assert total_xp(user) == 100

    def test_best_result_holds_when_jobs_run_out_of_order(self, auth_client, user):
        challenge = make_challenge(xp=100)
        ids = [start(auth_client, challenge) for _ in range(3)]
        for attempt_id, score in zip(ids, [70, 95, 80], strict=True):
            assert submit(auth_client, attempt_id, score=score).status_code == 200
        django_rq.get_queue("default").empty()
        for attempt_id in reversed(ids):
            jobs.award_xp_and_badges(attempt_id)
        assert total_xp(user) == xp_sum(user) == 95

    def test_awards_across_challenges_add_up(self, auth_client, user):
        for xp, score in [(100, 100), (300, 100), (10, 95)]:
            attempt_id = start(auth_client, make_challenge(xp=xp))
            assert submit(auth_client, attempt_id, score=score).status_code == 200
        assert drain_queue() == 1  # one waiting job serves every submission made meanwhile
        fresh = User.objects.get(pk=user.pk)
        assert (fresh.total_xp, fresh.level) == (410, 3)
        assert xp_sum(user) == 410

    def test_the_award_is_logged_as_a_structured_event(self, auth_client, user, caplog):
        attempt_id = start(auth_client, make_challenge(xp=100))
        assert submit(auth_client, attempt_id, score=100).status_code == 200
        with caplog.at_level(logging.INFO, logger="skillquest.awards"):
            drain_queue()
        [event] = [r for r in caplog.records if r.getMessage() == "xp_awarded"]
        assert event.user_id == str(user.pk)
        assert event.attempt_id == attempt_id
        assert (event.xp, event.total_xp, event.new_level) == (100, 100, 2)
        [level_up] = [r for r in caplog.records if r.getMessage() == "level_up"]
        assert (level_up.old_level, level_up.new_level) == (1, 2)

    def test_job_returns_how_many_it_awarded(self, auth_client, user):
        attempt_id = start(auth_client, make_challenge(xp=20))
        assert jobs.award_xp_and_badges(attempt_id) == {
            "awarded": 0,
            "badges": [],
            "quests": [],
        }  # not graded yet
        assert submit(auth_client, attempt_id, score=100).status_code == 200
        django_rq.get_queue("default").empty()
        assert jobs.award_xp_and_badges(attempt_id) == {"awarded": 1, "badges": [], "quests": []}
        assert total_xp(user) == 20
        assert jobs.award_xp_and_badges("00000000-0000-0000-0000-000000000000") == {
            "awarded": 0,
            "badges": [],
            "quests": [],
        }


@pytest.mark.django_db(transaction=True)
def test_in_process_mode_awards_right_after_commit(auth_client, user, settings):
    settings.JOBS_IN_PROCESS = True
    attempt_id = start(auth_client, make_challenge(xp=100))
    response = submit(auth_client, attempt_id, score=95)
    assert response.status_code == 200
    assert response.json()["xp_awarded"] is None  # graded in the request, awarded after its commit
    assert queued_count() == 0
    assert Attempt.objects.get(pk=attempt_id).xp_awarded == 95
    assert total_xp(user) == 95


@pytest.mark.django_db(transaction=True)
def test_the_award_log_line_keeps_its_log_level(auth_client, user, caplog):
    """The worker writes JSON lines; the event's fields must not overwrite the line's own keys."""

    attempt_id = start(auth_client, make_challenge(xp=100))
    assert submit(auth_client, attempt_id, score=100).status_code == 200
    with caplog.at_level(logging.INFO, logger="skillquest.awards"):
        drain_queue()
    lines = {record.getMessage(): json.loads(JsonFormatter().format(record)) for record in caplog.records}
    award = lines["xp_awarded"]
    assert (award["level"], award["logger"], award["event"]) == ("info", "skillquest.awards", "xp_awarded")
    assert (award["user_id"], award["attempt_id"], award["xp"], award["total_xp"]) == (
        str(user.pk),
        attempt_id,
        100,
        100,
    )
    assert award["new_level"] == 2
    assert (lines["level_up"]["level"], lines["level_up"]["new_level"]) == ("info", 2)


class FakeClock:
    """A clock whose present is a fixed moment after the running job was enqueued; sleeps are recorded."""

    def __init__(self, seconds_after_enqueue: float) -> None:
        self.after = timedelta(seconds=seconds_after_enqueue)
        self.slept: list[float] = []

    def now(self) -> datetime:
        job = get_current_job()
        assert job is not None and job.enqueued_at is not None
        return job.enqueued_at.replace(tzinfo=UTC) + self.after

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


class TestCoalescing:
    def run_one_award_job(self, monkeypatch, clock: FakeClock) -> dict:
        monkeypatch.setattr(jobs, "clock", clock)
        queue = django_rq.get_queue("default")
        job = queue.enqueue(jobs.award_xp_and_badges, None)
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        job.refresh()
        result = job.return_value()
        assert isinstance(result, dict)
        return result

    def test_the_job_waits_out_the_rest_of_the_window_after_its_enqueue(self, db, monkeypatch, settings):
        settings.AWARD_COALESCE_SECONDS = 0.05
        clock = FakeClock(seconds_after_enqueue=0.02)
        assert self.run_one_award_job(monkeypatch, clock) == {"awarded": 0, "badges": [], "quests": []}
        assert clock.slept == [pytest.approx(0.03)]

    def test_a_job_that_waited_in_the_queue_longer_does_not_sleep(self, db, monkeypatch, settings):
        settings.AWARD_COALESCE_SECONDS = 0.05
        clock = FakeClock(seconds_after_enqueue=0.2)
        self.run_one_award_job(monkeypatch, clock)
        assert clock.slept == []

    def test_a_clock_behind_the_web_host_waits_at_most_one_window(self, db, monkeypatch, settings):
        settings.AWARD_COALESCE_SECONDS = 0.05
        clock = FakeClock(seconds_after_enqueue=-5)
        self.run_one_award_job(monkeypatch, clock)
        assert clock.slept == [0.05]

    def test_a_zero_window_awards_at_once(self, db, monkeypatch, settings):
        settings.AWARD_COALESCE_SECONDS = 0
        clock = FakeClock(seconds_after_enqueue=0)
        self.run_one_award_job(monkeypatch, clock)
        assert clock.slept == []
