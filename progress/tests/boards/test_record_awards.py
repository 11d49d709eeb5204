from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.utils import timezone
from django_rq import get_queue
from model_bakery import baker
from rq import SimpleWorker

from accounts.models import User
from challenges.models import Attempt, Challenge
from challenges.services import attempt_submit
from progress import jobs
from progress.boards import backends, windows
from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.tests.boards.factory import dead_redis, random_history, rank_of

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
    for period in windows.PERIODS:
        page = board_selectors.top(period)
        assert [(e.rank, e.username, e.xp, e.level) for e in page.results] == [
            (1, "alice", 90, 1),
            (2, "bob", 60, 1),
        ], period
    # A better result on the same challenge pays the improvement; the board shows the new total.
    submit(other_user, challenge, 100)
    work()
    assert [(e.rank, e.username, e.xp) for e in board_selectors.top("all").results] == [
        (1, "bob", 100),
        (2, "alice", 90),
    ]
    assert rank_of(User.objects.get(pk=user.pk)) == 2


def test_a_redis_failure_on_the_board_does_not_lose_the_award(user, monkeypatch, caplog):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    attempt = Attempt.objects.create(user=user, challenge=challenge)
    attempt_submit(user=user, attempt_id=attempt.pk, score=80)
    # The board's Redis is unreachable (a real client on a port nothing listens on); the queue is fine.
    dead = backends.RedisBackend(dead_redis())
    monkeypatch.setattr(board_services, "get_backend", lambda: dead)
    with caplog.at_level(logging.WARNING, logger="skillquest.leaderboard"):
        result = jobs.award_xp_and_badges(str(attempt.pk))
    assert result == {"awarded": 1, "badges": [], "quests": []}
    user.refresh_from_db()
    attempt.refresh_from_db()
    assert (user.total_xp, attempt.xp_awarded) == (80, 80)
    assert "leaderboard_update_failed" in [r.getMessage() for r in caplog.records]
    # The board is repaired by the command.
    monkeypatch.undo()
    assert board_selectors.top("all").results == []
    board_services.rebuild()
    assert [(e.username, e.xp) for e in board_selectors.top("all").results] == [("alice", 80)]


def test_concurrent_records_leave_the_board_equal_to_the_database():
    now = timezone.now()
    awards = random_history(random.Random(3), at=now, players=25)

    def record_all(order_seed: int) -> None:
        try:
            shuffled = awards[:]
            random.Random(order_seed).shuffle(shuffled)
            for awarded in shuffled:
                assert board_services.record_awards([awarded])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(record_all, range(6)))
    for period in windows.PERIODS:
        from_redis = board_selectors.top(period, limit=100, backend=backends.RedisBackend())
        from_sql = board_selectors.top(period, limit=100, backend=backends.SqlBackend())
        assert from_redis == from_sql, period
        assert from_sql.count > 0 or period != "all"
