"""The replica router against a real streaming replica: run by skillquest/tests/test_replica.py.

Not collected by the suite itself (not a test_*.py): it needs DATABASE_URL on a primary of the test's
own and DATABASE_REPLICA_URLS on its replica, which the fixture there makes. `replica_1` mirrors the
primary's test database by name only, so it stays the replica's server (skillquest/replicas.py).

A replica whose replay is paused (`pg_wal_replay_pause()`) keeps the data as it was: a read that
answers with the old data came from the replica, one with the new data from the primary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_rq import get_queue
from model_bakery import baker
from rest_framework.test import APIClient
from rq import SimpleWorker

from challenges.models import Attempt, Challenge
from progress.awards.services import awards_process
from progress.boards import selectors as boards
from progress.boards.backends import SqlBackend
from skillquest import replicas
from skillquest.replicas import (
    STICKY_KEY,
    ReplicaRouter,
    forget_verdicts,
    replica_for,
    replica_reads,
    replica_usable,
    wrote_recently,
)
from skillquest.tests.helpers import client_for, pg_ctl, wait_until

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True, databases="__all__")]
REPLICA = "replica_1"
REPLICA_DIR = Path(os.environ["REPLICA_TEST_DATA_DIR"])


def on(alias: str, sql: str, params: list | None = None):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    lsn = on(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
    wait_until(
        lambda: on(REPLICA, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]), what="replica replay"
    )


def received() -> None:
    """Wait until the replica has received (not necessarily replayed) all the primary wrote so far."""
    lsn = on(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
    wait_until(
        lambda: on(REPLICA, "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [lsn]), what="WAL received"
    )


@contextmanager
def replay_paused() -> Iterator[None]:
    """The replica stops replaying (it keeps receiving) until the block ends, then catches up."""
    caught_up()
    on(REPLICA, "SELECT pg_wal_replay_pause()::text")
    wait_until(lambda: on(REPLICA, "SELECT pg_get_wal_replay_pause_state()") == "paused", what="pause")
    try:
        yield
    finally:
        on(REPLICA, "SELECT pg_wal_replay_resume()::text")
        caught_up()


@pytest.fixture(autouse=True)
def _fresh_verdicts(settings):
    # Generous: the pauses below must not make the replica count as lagging (one test sets its own).
    settings.REPLICA_MAX_LAG_SECONDS = 60
    forget_verdicts()
    yield
    forget_verdicts()


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(challenge["slug"] for challenge in response.json()["results"])


def run_worker() -> None:
    queue = get_queue("default")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def submit(client, challenge, score: int) -> None:
    started = client.post("/api/v1/attempts", {"challenge_id": str(challenge.id)}, format="json")
    assert started.status_code == 201, started.content
    submitted = client.post(
        f"/api/v1/attempts/{started.json()['id']}/submit", {"score": score}, format="json"
    )
    assert submitted.status_code == 200, submitted.content


# --- The router ----------------------------------------------------------------------------------


def test_reads_go_to_the_replica_only_inside_an_opted_in_block_and_outside_transactions():
    router = ReplicaRouter()
    assert router.db_for_read(Challenge) == DEFAULT_DB_ALIAS
    with replica_reads() as alias:
        assert alias == REPLICA
        assert router.db_for_read(Challenge) == REPLICA
        assert router.db_for_write(Challenge) == DEFAULT_DB_ALIAS
        with transaction.atomic():
            assert router.db_for_read(Challenge) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Challenge) == REPLICA
    assert router.db_for_read(Challenge) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "challenges")
    assert not router.allow_migrate(REPLICA, "challenges")


def test_a_player_who_wrote_reads_the_primary_until_the_sticky_window_ends(user, settings):
    settings.REPLICA_STICKY_SECONDS = 1
    assert replica_for(user) == REPLICA
    response = client_for(user).post("/api/v1/notifications/read", {"all": True}, format="json")
    assert response.status_code == 200, response.content
    assert wrote_recently(user.pk)
    assert replica_for(user) is None
    wait_until(lambda: replica_for(user) == REPLICA, what="the sticky window to end", seconds=3)


def test_reads_and_anonymous_requests_mark_nobody(user):
    assert client_for(user).get("/api/v1/challenges").status_code == 200
    assert APIClient().post("/api/v1/attempts", {}, format="json").status_code == 401
    assert not wrote_recently(user.pk)


# --- (1) the opted-in paths really read the replica ------------------------------------------------


def test_challenges_other_players_pages_admin_stats_and_sql_boards_read_the_replica(
    user, other_user, staff_user
):
    baker.make(Challenge, title="Old", slug="old", xp=10, published=True)
    other_user.total_xp = 40
    other_user.save(update_fields=["total_xp"])
    with replay_paused():
        new = baker.make(Challenge, title="New", slug="new", xp=10, published=True)
        other_user.total_xp = 500
        other_user.save(update_fields=["total_xp"])

        anonymous, player, staff = APIClient(), client_for(user), client_for(staff_user)
        assert slugs(anonymous.get("/api/v1/challenges")) == ["old"]
        assert slugs(player.get("/api/v1/challenges")) == ["old"]
        assert anonymous.get(f"/api/v1/challenges/{new.id}").status_code == 404
        assert player.get(f"/api/v1/users/{other_user.id}/progress").json()["total_xp"] == 40
        assert staff.get("/api/v1/admin/stats").json()["challenges_total"] == 1
        with replica_reads():
            board = boards.top("all", backend=SqlBackend())
        assert [(entry.username, entry.xp) for entry in board.results] == [("bob", 40)]
        # The primary has it all, for paths that did not opt in.
        assert boards.top("all", backend=SqlBackend()).results[0].xp == 500
        assert Challenge.objects.count() == 2
    # The replica has it too once it has replayed.
    assert slugs(APIClient().get("/api/v1/challenges")) == ["new", "old"]


def test_pages_read_the_replica_except_a_players_own_profile(user, other_user, staff_user):
    baker.make(Challenge, title="Old one", slug="old", xp=10, published=True)
    with replay_paused():
        new = baker.make(Challenge, title="Brand new", slug="brand-new", xp=100, published=True)
        submit(client_for(user), new, 90)
        run_worker()
        cache.delete(STICKY_KEY.format(user_id=user.pk))  # only the own-profile rule is left

        anonymous = Client()
        listed = anonymous.get("/challenges/")
        assert listed.status_code == 200
        assert b"Old one" in listed.content and b"Brand new" not in listed.content
        assert anonymous.get("/challenges/brand-new/").status_code == 404
        assert anonymous.get("/leaderboard/").status_code == 200
        assert b"Brand new" not in anonymous.get(f"/u/{user.username}/").content

        own = Client()
        own.force_login(user)
        assert b"Brand new" in own.get(f"/u/{user.username}/").content
        staff = Client()
        staff.force_login(staff_user)
        assert staff.get("/staff/").status_code == 200


# --- (2) a player's own reads after a submit and its award -----------------------------------------


def test_a_players_own_progress_after_a_submit_and_its_award_is_never_stale(user, other_user):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    player = client_for(user)
    with replay_paused():
        submit(player, challenge, 90)
        assert wrote_recently(user.pk)  # the submit's own mark
        # Only the award job's mark is left to keep the player's reads on the primary after it.
        cache.delete(STICKY_KEY.format(user_id=user.pk))
        run_worker()
        assert Attempt.objects.get(user=user).xp_awarded == 90
        assert wrote_recently(user.pk)

        own = player.get(f"/api/v1/users/{user.id}/progress").json()
        assert own["total_xp"] == 90
        assert [attempt["xp_awarded"] for attempt in own["recent_attempts"]] == [90]
        history = player.get(f"/api/v1/users/{user.id}/xp-history").json()
        assert [entry["amount"] for entry in history["results"]] == [90]
        # Others read the replica, which has not replayed the award (nor the submit) yet.
        seen_by_other = client_for(other_user).get(f"/api/v1/users/{user.id}/progress").json()
        assert seen_by_other["total_xp"] == 0
        # A challenge published during the pause: the player who wrote sees it, an anonymous reader not.
        baker.make(Challenge, title="Late", slug="late", xp=10, published=True)
        assert slugs(player.get("/api/v1/challenges")) == ["hello", "late"]
        assert slugs(APIClient().get("/api/v1/challenges")) == ["hello"]
        # Their own progress is never read from a replica, marked or not.
        cache.delete(STICKY_KEY.format(user_id=user.pk))
        assert player.get(f"/api/v1/users/{user.id}/progress").json()["total_xp"] == 90


# --- (3) the replica stopped ----------------------------------------------------------------------


@pytest.fixture
def stoppable_replica():
    yield
    if not (REPLICA_DIR / "postmaster.pid").exists():
        pg_ctl(REPLICA_DIR, "start")
        wait_until(usable_afresh, what="the replica back")


def usable_afresh() -> bool:
    forget_verdicts()
    return replica_usable(REPLICA)


def test_reads_go_on_from_the_primary_while_the_replica_is_stopped(stoppable_replica, monkeypatch, caplog):
    # A verdict that outlives the stop: the open replica connection fails in the middle of a request.
    monkeypatch.setattr(replicas, "CHECK_SECONDS", 60.0)
    baker.make(Challenge, title="Hello", slug="hello", xp=10, published=True)
    caught_up()
    anonymous = APIClient()
    assert slugs(anonymous.get("/api/v1/challenges")) == ["hello"]
    pg_ctl(REPLICA_DIR, "stop", "-m", "fast")
    baker.make(Challenge, title="Second", slug="second", xp=10, published=True)

    assert slugs(anonymous.get("/api/v1/challenges")) == ["hello", "second"]
    assert "replica_read_failed" in caplog.messages
    # Remembered: the next requests do not try it at all.
    started = time.monotonic()
    for _ in range(5):
        assert slugs(anonymous.get("/api/v1/challenges")) == ["hello", "second"]
    assert time.monotonic() - started < 2
    # A fresh check finds it down and answers from the primary too, within the connect timeout.
    forget_verdicts()
    started = time.monotonic()
    assert slugs(anonymous.get("/api/v1/challenges")) == ["hello", "second"]
    assert time.monotonic() - started < 3
    assert "replica_unreachable" in caplog.messages
    assert not replica_usable(REPLICA)


# --- (4) lag ------------------------------------------------------------------------------------------


def test_a_replica_lagging_past_the_limit_is_skipped_and_an_idle_caught_up_one_is_not(settings):
    settings.REPLICA_MAX_LAG_SECONDS = 1
    baker.make(Challenge, title="Old", slug="old", xp=10, published=True)
    caught_up()
    # Nothing committed for longer than the limit: the last replayed commit is old, the replica is not.
    time.sleep(1.5)
    # (Retried: a checkpoint's or autovacuum's WAL can leave it a moment behind, judged by that commit.)
    wait_until(usable_afresh, what="an idle caught-up replica counted usable", seconds=5)
    with replay_paused():
        baker.make(Challenge, title="New", slug="new", xp=10, published=True)
        received()
        time.sleep(1.2)
        forget_verdicts()
        assert not replica_usable(REPLICA)
        assert slugs(APIClient().get("/api/v1/challenges")) == ["new", "old"]
        settings.REPLICA_MAX_LAG_SECONDS = 3600
        forget_verdicts()
        assert slugs(APIClient().get("/api/v1/challenges")) == ["old"]


# --- (5) transactions, select_for_update and the award job stay on the primary ----------------------


def test_nothing_in_a_transaction_or_under_select_for_update_reads_the_replica():
    with replay_paused():
        challenge = baker.make(Challenge, title="New", slug="new", xp=10, published=True)
        with replica_reads():
            assert not Challenge.objects.filter(pk=challenge.pk).exists()
            with transaction.atomic():
                assert Challenge.objects.filter(pk=challenge.pk).exists()
                assert Challenge.objects.select_for_update().get(pk=challenge.pk).slug == "new"


def test_the_award_job_reads_and_writes_only_the_primary_even_inside_an_opted_in_block(user):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    with replay_paused():
        submit(client_for(user), challenge, 80)
        queued = get_queue("default")
        queued.empty()  # the job is run by hand below, inside the block
        with replica_reads() as alias, CaptureQueriesContext(connections[REPLICA]) as on_replica:
            assert alias == REPLICA
            awards = awards_process()
        assert [award.xp for award in awards] == [80]
        assert on_replica.captured_queries == []
        user.refresh_from_db()
        assert user.total_xp == 80


def test_the_award_job_on_a_worker_sends_nothing_to_the_replica(user):
    challenge = baker.make(Challenge, title="Hello", slug="hello", xp=100, published=True)
    with replay_paused():
        submit(client_for(user), challenge, 70)
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            run_worker()
        assert on_replica.captured_queries == []
        assert Attempt.objects.get(user=user).xp_awarded == 70
