"""Delivery end to end, against a real receiver process (receiver.py, verifying every signature with
`standardwebhooks`) and real RQ workers (the Procfile's worker line): failures, timeouts and recovery
deliver every event, each id processed once; a rolled-back award sends nothing; a worker SIGKILLed
after its POST reached the receiver and before it recorded the answer is made up for with the same id.
"""

from __future__ import annotations

import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone
from rq import SimpleWorker, Worker

from challenges.models import Attempt
from challenges.tests.helpers import make_challenge
from progress import jobs
from progress.awards.services import awards_process
from progress.ledger.services import xp_grant
from progress.models import Badge, OutboxEvent, WebhookAttempt, WebhookDelivery
from progress.tests.webhooks.conftest import start_worker, stop_worker
from progress.webhooks import jobs as webhook_jobs
from progress.webhooks import services
from progress.webhooks.events import TYPES
from progress.webhooks.jobs import deliver_due
from skillquest.queue import default_queue
from skillquest.tests.helpers import wait_until

pytestmark = pytest.mark.serial


def _graded(user, count: int) -> list[Attempt]:
    challenges = [make_challenge(xp=100) for _ in range(count)]
    return [
        Attempt.objects.create(
            user=user, challenge=challenge, status="passed", score=100, submitted_at=timezone.now()
        )
        for challenge in challenges
    ]


def _endpoint(receiver, staff_user, events=None):
    endpoint = services.endpoint_create(url=receiver.url, events=events or list(TYPES), actor=staff_user)
    receiver.control(secret=endpoint.secret, mode="ok")
    return endpoint


def _ids() -> set[str]:
    return {event.message_id for event in OutboxEvent.objects.all()}


def _drain_in_process() -> None:
    """A real RQ SimpleWorker in this process, in burst mode, on both queues."""
    queues = [default_queue("default"), default_queue("webhooks")]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


@pytest.mark.django_db(transaction=True)
def test_fails_times_out_and_recovers_delivering_every_event_once(
    receiver, private_networks, staff_user, user
):
    Badge.objects.create(name="Hundred", slug="hundred", condition={"type": "xp", "threshold": 100})
    endpoint = _endpoint(receiver, staff_user)
    receiver.control(mode="fail")
    _graded(user, 3)
    xp_grant(user_id=user.pk, amount=50, reason="Helping out", actor=staff_user)

    worker = start_worker(WEBHOOK_DISABLE_AFTER="1000")
    try:
        # The award job runs, then every delivery fails at least once with a 500 ...
        wait_until(lambda: OutboxEvent.objects.count() >= 8, what="the award batch's outbox rows", seconds=30)
        expected = _ids()
        assert {event.type for event in OutboxEvent.objects.all()} >= {
            "attempt.graded", "xp.awarded", "level.up", "badge.awarded", "xp.granted",
        }  # fmt: skip
        wait_until(
            lambda: (
                WebhookAttempt.objects.filter(response_status=500).values("delivery").distinct().count()
                == len(expected)
            ),
            what="a 500 for every delivery",
            seconds=30,
        )
        # ... then times out (the receiver answers after the sender's 0.5 s) ...
        receiver.control(mode="timeout", sleep=1.0)
        wait_until(
            lambda: WebhookAttempt.objects.filter(error__startswith="Timed out").exists(),
            what="an attempt that timed out",
            seconds=30,
        )
        # ... and recovers.
        receiver.control(mode="ok")
        wait_until(
            lambda: WebhookDelivery.objects.filter(status="succeeded").count() == len(expected),
            what="every delivery to succeed",
            seconds=60,
        )
    finally:
        stop_worker(worker)

    state = receiver.state()
    assert state["rejected"] == 0  # every request carried a valid signature
    assert set(state["seen"]) == expected  # nothing unknown, nothing missing
    assert set(state["processed"]) == expected  # each processed (once: the receiver keeps one per id)
    assert len(state["seen"]) > len(expected)  # the failures and timeouts were retried with the same ids
    for message_id, payload in state["processed"].items():
        event = OutboxEvent.objects.get(pk=message_id.removeprefix("msg_"))
        assert payload == {
            "type": event.type,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.data,
        }
    granted = next(p for p in state["processed"].values() if p["type"] == "xp.granted")
    assert granted["data"]["amount"] == 50 and granted["data"]["user_id"] == str(user.pk)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.consecutive_failures == 0
    assert not WebhookDelivery.objects.exclude(status="succeeded").exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_award_sends_nothing(receiver, private_networks, staff_user, user):
    _endpoint(receiver, staff_user)
    attempts = _graded(user, 2)

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        assert len(awards_process()) == 2
        rolled_back = _ids()
        assert len(rolled_back) >= 4  # written in the award's transaction ...
        raise Rollback
    assert not OutboxEvent.objects.exists()  # ... and gone with it
    assert Attempt.objects.filter(pk__in=[a.pk for a in attempts], xp_awarded__isnull=True).count() == 2

    # The award job the attempts scheduled (on their commit) then awards them for real, through a real
    # worker: only what committed is delivered, each attempt reported once.
    _drain_in_process()
    state = receiver.state()
    assert not set(state["seen"]) & rolled_back
    assert set(state["seen"]) == set(state["processed"]) == _ids()
    assert [p["type"] for p in state["processed"].values()].count("attempt.graded") == 2


@pytest.mark.django_db(transaction=True)
def test_worker_killed_after_the_post_redelivers_the_same_id(receiver, private_networks, staff_user, user):
    _endpoint(receiver, staff_user, events=["xp.granted"])
    worker = start_worker()
    try:
        wait_until(lambda: worker.poll() is None and _worker_listening(), what="the worker to start")
        receiver.control(mode="kill", kill_pid=worker.pid)
        xp_grant(user_id=user.pk, amount=5, reason="Kill drill", actor=staff_user)
        (message_id,) = _ids()
        wait_until(lambda: worker.poll() is not None, what="the receiver to kill the worker", seconds=30)
        assert worker.returncode == -signal.SIGKILL
        delivery = WebhookDelivery.objects.get()
        # The POST reached the receiver, the answer was never recorded: still pending, under its lease.
        assert receiver.state()["seen"] == [message_id]
        assert delivery.status == "pending" and not delivery.attempts.exists()
    finally:
        stop_worker(worker)  # its process group: the scheduler it forked too
    # A restart (the Procfile's line: the sweep, then the worker) once the lease has run out.
    lease_end = delivery.next_attempt_at
    assert lease_end is not None
    wait_until(lambda: lease_end <= timezone.now(), what="the lease to end", seconds=10)
    # Its one POST must succeed (a timed-out one is sent again): not the 0.5 s of the timeout phases.
    restarted = start_worker(sweep=True, WEBHOOK_TIMEOUT_SECONDS="5")
    try:
        wait_until(
            lambda: WebhookDelivery.objects.get().status == "succeeded", what="the redelivery", seconds=30
        )
    finally:
        stop_worker(restarted)
    state = receiver.state()
    assert state["seen"] == [message_id, message_id]  # at least once: the same id again
    assert list(state["processed"]) == [message_id]  # processed once
    assert WebhookAttempt.objects.get().succeeded


def _worker_listening() -> bool:
    return any(
        "webhooks" in worker.queue_names() for worker in Worker.all(connection=default_queue().connection)
    )


@pytest.mark.django_db(transaction=True)
def test_endpoint_disabled_after_consecutive_failures_with_the_reason(
    receiver, private_networks, staff_user, user, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    endpoint = _endpoint(receiver, staff_user, events=["xp.granted"])
    receiver.control(mode="fail")
    for index in range(3):  # three rounds of deliveries, each failing (a round counts once)
        xp_grant(user_id=user.pk, amount=1 + index, reason="Failing", actor=staff_user)
        _drain_in_process()
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.consecutive_failures == 3
    assert (
        "3 failed rounds of deliveries in a row" in endpoint.disabled_reason
        and "HTTP 500" in endpoint.disabled_reason
    )
    # Disabled: new events are not even written, pending deliveries wait.
    xp_grant(user_id=user.pk, amount=9, reason="Unheard", actor=staff_user)
    assert OutboxEvent.objects.count() == 3
    # Enabled again, its pending deliveries go out.
    receiver.control(mode="ok")
    services.endpoint_update(endpoint=endpoint, actor=staff_user, active=True)
    time.sleep(0.3)  # the retry delay of the last failures
    _drain_in_process()
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == "" and endpoint.consecutive_failures == 0


@pytest.mark.django_db(transaction=True)
def test_in_process_one_job_delivers_a_backlog_without_calling_itself(
    receiver, private_networks, staff_user, settings
):
    settings.JOBS_IN_PROCESS = True  # the quickstart: no queue, no other worker
    settings.WEBHOOK_TIMEOUT_SECONDS = 5  # 32 parallel POSTs to one test receiver may take a while
    _endpoint(receiver, staff_user, events=["xp.granted"])
    for index in range(100):  # more than three batches of 32
        OutboxEvent.objects.create(type="xp.granted", data={"amount": index})
    result = deliver_due()
    # Every attempt was made by this one call: a nested call (the job scheduling itself inline) would
    # have made the attempts after the first batch, which this call's count would then leave out.
    assert result["sent"] == WebhookAttempt.objects.count() >= 100
    assert result["succeeded"] == WebhookDelivery.objects.filter(status="succeeded").count() >= 95


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("awards", ["a job waiting", "a backlog pending"])
def test_a_delivery_job_steps_aside_for_the_awards_before_it_sends(
    awards, receiver, private_networks, staff_user, user, settings, monkeypatch
):
    """During an award backlog every idle worker is asked to drain it (progress.jobs): a delivery
    batch started then would hold its worker from the awards for as long as a dead endpoint times
    out. The job sends nothing and comes back a second later."""
    settings.JOBS_IN_PROCESS = False
    _endpoint(receiver, staff_user, events=["xp.granted"])
    OutboxEvent.objects.create(type="xp.granted", data={"amount": 1})
    webhooks_queue = default_queue("webhooks")
    webhooks_queue.empty()
    if awards == "a job waiting":
        assert jobs.schedule_award(None, force=True)
    else:
        monkeypatch.setattr(webhook_jobs, "AWARD_BACKLOG", 2)
        _graded(user, 2)
        default_queue("default").empty()  # what their creation queued: the backlog alone counts

    assert deliver_due()["sent"] == 0
    assert WebhookAttempt.objects.count() == 0
    assert len(webhooks_queue.scheduled_job_registry) == 1  # back in a second
    # Once the awards are done, the delivery goes out.
    awards_process()
    default_queue("default").empty()
    assert deliver_due()["succeeded"] == 1
    assert WebhookDelivery.objects.get().status == "succeeded"
