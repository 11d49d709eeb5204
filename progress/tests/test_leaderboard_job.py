from __future__ import annotations

import logging

import pytest
import redis
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.services import attempt_submit
from progress import jobs, leaderboard

pytestmark = pytest.mark.django_db(transaction=True)


def submit(user: User, challenge: Challenge, score: int) -> Attempt:
    attempt = Attempt.objects.create(user=user, challenge=challenge)
    attempt_submit(user=user, attempt_id=attempt.pk, score=score)
    return attempt


def work() -> None:
    queue = get_queue("default")
    assert queue.count > 0  # a job that never ran would make the board assertions pass vacuously
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_the_award_job_puts_the_player_on_every_board(user, other_user):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    submit(user, challenge, 90)
    submit(other_user, challenge, 60)
    work()
    for period in leaderboard.PERIODS:
        page = leaderboard.top(period)
        assert [(e.rank, e.username, e.xp, e.level) for e in page.results] == [
            (1, "alice", 90, 1),
            (2, "bob", 60, 1),
        ], period
    # A better result on the same challenge pays the improvement; the board shows the new total.
    submit(other_user, challenge, 100)
    work()
    assert [(e.rank, e.username, e.xp) for e in leaderboard.top("all").results] == [
        (1, "bob", 100),
        (2, "alice", 90),
    ]
    assert leaderboard.rank(user.pk) == 2


def test_a_redis_failure_on_the_board_does_not_lose_the_award(user, monkeypatch, caplog):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    attempt = Attempt.objects.create(user=user, challenge=challenge)
    attempt_submit(user=user, attempt_id=attempt.pk, score=80)
    # The board's Redis is unreachable (a real client on a port nothing listens on); the queue is fine.
    dead = leaderboard.RedisBackend(redis.Redis(host="127.0.0.1", port=8129, socket_connect_timeout=0.5))
    monkeypatch.setattr(leaderboard, "get_backend", lambda: dead)
    with caplog.at_level(logging.WARNING, logger="skillquest.leaderboard"):
        result = jobs.award_xp_and_badges(str(attempt.pk))
    assert result["total_xp"] == 80
    user.refresh_from_db()
    attempt.refresh_from_db()
    assert (user.total_xp, attempt.xp_awarded) == (80, 80)
    assert "leaderboard_update_failed" in [r.getMessage() for r in caplog.records]
    # The board is repaired by the command.
    monkeypatch.undo()
    assert leaderboard.top("all").results == []
    leaderboard.rebuild()
    assert [(e.username, e.xp) for e in leaderboard.top("all").results] == [("alice", 80)]
