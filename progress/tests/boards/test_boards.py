from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from progress.boards import ranks, windows
from progress.boards import selectors as board_selectors
from progress.boards import services as board_services
from progress.boards.backends import RedisBackend, SqlBackend
from progress.tests.boards.factory import Awarded, award, dead_redis, player, random_history, rank_of

pytestmark = pytest.mark.django_db

# "Now" for most tests: a Wednesday whose ISO week (Mon 30 March - Sun 5 April) straddles two
# months. In the future, because Redis drops a windowed board as soon as its window has ended.
AT = datetime(2037, 4, 1, 12, 0, tzinfo=UTC)
THIS_WEEK_LAST_MONTH = datetime(2037, 3, 31, 9, 0, tzinfo=UTC)
LAST_MONTH = datetime(2037, 3, 10, 9, 0, tzinfo=UTC)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
WEEK_KEY = "{leaderboard}:week:2037-W14"
MONTH_KEY = "{leaderboard}:month:2037-04"


@pytest.fixture(params=["sql", "redis"])
def backend(request):
    return SqlBackend() if request.param == "sql" else RedisBackend()


def sync(backend, at=AT) -> None:
    """Bring a Redis backend up to date with the tables (the SQL backend reads them directly)."""
    board_services.rebuild(at=at, backend=backend)


def board(backend, period="all", *, limit=100, offset=0, at=AT):
    return [
        (e.rank, e.username, e.xp)
        for e in board_selectors.top(period, limit=limit, offset=offset, at=at, backend=backend).results
    ]


def test_windows_follow_the_utc_calendar():
    week = windows.window_for("week", datetime(2026, 1, 1, 23, 59, tzinfo=UTC))
    assert week.key == "{leaderboard}:week:2026-W01"
    assert (week.start, week.end) == (datetime(2025, 12, 29, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC))
    month = windows.window_for("month", datetime(2025, 12, 31, 23, 59, tzinfo=UTC))
    assert month.key == "{leaderboard}:month:2025-12"
    assert (month.start, month.end) == (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert windows.window_for("all").key == "{leaderboard}:all"
    with pytest.raises(ValueError):
        windows.window_for("year")


def test_equal_xp_share_a_rank_and_the_next_rank_skips(backend):
    player("dora", (300, LONG_AGO))
    player("carl", (200, LONG_AGO))
    player("bert", (200, LONG_AGO))
    player("anna", (100, LONG_AGO))
    sync(backend)
    assert board(backend) == [(1, "dora", 300), (2, "bert", 200), (2, "carl", 200), (4, "anna", 100)]


def test_ties_are_listed_by_username_across_pages(backend):
    # Case-insensitive, byte order: 'ab' < 'ab-c' < 'ab.d' < 'ab_e' < 'abc'; punctuation is not ignored.
    for name in ["abc", "ab_e", "AB", "ab.d", "Ab-c", "zed"]:
        player(name, (50, LONG_AGO))
    player("top", (90, LONG_AGO))
    sync(backend)
    whole = board(backend)
    assert whole == [
        (1, "top", 90),
        (2, "AB", 50),
        (2, "Ab-c", 50),
        (2, "ab.d", 50),
        (2, "ab_e", 50),
        (2, "abc", 50),
        (2, "zed", 50),
    ]
    for size in (1, 2, 3, 4):
        pages = [board(backend, limit=size, offset=offset) for offset in range(0, len(whole), size)]
        assert [row for page in pages for row in page] == whole


def test_board_holds_only_active_players_with_xp(backend):
    player("active", (10, LONG_AGO))
    player("gone", (500, LONG_AGO), is_active=False)
    player("nothing", (0, LONG_AGO))
    player("never")
    sync(backend)
    page = board_selectors.top("all", at=AT, backend=backend)
    assert (page.count, [e.username for e in page.results]) == (1, ["active"])


def test_week_board_counts_only_this_iso_week(backend):
    player(
        "monday",
        (40, datetime(2037, 3, 30, 0, 0, tzinfo=UTC)),
        (1000, datetime(2037, 3, 29, 23, 59, tzinfo=UTC)),
    )
    player("tuesday", (30, THIS_WEEK_LAST_MONTH), (5, AT))
    player("old", (900, LAST_MONTH))
    sync(backend)
    assert board(backend, "week") == [(1, "monday", 40), (2, "tuesday", 35)]


def test_month_board_does_not_count_last_month(backend):
    player("april", (20, AT))
    player("march", (300, THIS_WEEK_LAST_MONTH), (10, AT))
    player("old", (900, LAST_MONTH))
    sync(backend)
    assert board(backend, "month") == [(1, "april", 20), (2, "march", 10)]
    assert board(backend, "all") == [(1, "old", 900), (2, "march", 310), (3, "april", 20)]


def fresh(user: User) -> User:
    """The player as stored now (the ranks read their total)."""
    return User.objects.get(pk=user.pk)


def test_rank_of_one_player(backend):
    first = player("first", (100, AT))
    tied_a = player("tied-a", (50, AT))
    tied_b = player("tied-b", (50, AT))
    last = player("last", (10, AT), (500, LAST_MONTH))
    nobody = player("nobody")
    sync(backend)
    players = (first, tied_a, tied_b, last)
    assert [rank_of(fresh(u), "all", at=AT, backend=backend) for u in players] == [
        2,
        3,
        3,
        1,
    ]
    assert [rank_of(fresh(u), "month", at=AT, backend=backend) for u in players] == [
        1,
        2,
        2,
        4,
    ]
    assert rank_of(fresh(nobody), "all", at=AT, backend=backend) is None
    assert rank_of(fresh(last), "week", at=datetime(2037, 5, 1, tzinfo=UTC), backend=backend) is None


def test_backends_agree_on_random_histories():
    redis_backend, sql_backend = RedisBackend(), SqlBackend()
    now = timezone.now()
    for seed in range(3):
        # Each history in a savepoint rolled back after it: the ledger refuses DELETE.
        with transaction.atomic():
            _check_backends_agree(random.Random(seed), now, redis_backend, sql_backend)
            transaction.set_rollback(True)


def _check_backends_agree(rng, now, redis_backend, sql_backend):
    redis_backend.redis.flushdb()
    # The incremental path: one record per award, in the order the job would make them.
    for awarded in random_history(rng, at=now):
        board_services.record_awards([awarded])
    users = list(User.objects.all())
    assert board_selectors.top("all", limit=100).count > 5  # the history is not trivially empty
    assert board_selectors.top("all", tag="sql", limit=100).count > 1  # so are the tag boards
    assert any(not u.leaderboard_visible for u in users) and any(u.following.exists() for u in users)
    for tag in (None, "regex", "sql"):
        for period in windows.PERIODS:
            where = (tag, period)
            for limit, offset in [(100, 0), (7, 0), (7, 7), (3, 11), (5, 1000)]:
                redis_page = board_selectors.top(
                    period, tag=tag, limit=limit, offset=offset, backend=redis_backend
                )
                sql_page = board_selectors.top(
                    period, tag=tag, limit=limit, offset=offset, backend=sql_backend
                )
                assert redis_page == sql_page, (*where, limit, offset)
            if tag is None:
                redis_ranks = [rank_of(u, period, backend=redis_backend) for u in users]
                sql_ranks = [rank_of(u, period, backend=sql_backend) for u in users]
                assert redis_ranks == sql_ranks, where
            for user in users:
                for k in (1, 3):
                    redis_around = board_selectors.around(user, period, tag=tag, k=k, backend=redis_backend)
                    sql_around = board_selectors.around(user, period, tag=tag, k=k, backend=sql_backend)
                    assert redis_around == sql_around, (*where, user.username, k)
                # Redis ranks a friends board in a script of its own; pages and around-me views of it
                # must match the database's, row for row.
                for limit, offset in [(100, 0), (2, 1), (5, 1000)]:
                    redis_friends = board_selectors.friends(
                        user, period, tag=tag, limit=limit, offset=offset, backend=redis_backend
                    )
                    sql_friends = board_selectors.friends(
                        user, period, tag=tag, limit=limit, offset=offset, backend=sql_backend
                    )
                    assert redis_friends == sql_friends, (*where, user.username, limit, offset)
                for k in (1, 2):
                    assert board_selectors.friends(
                        user, period, tag=tag, around_k=k, backend=redis_backend
                    ) == board_selectors.friends(user, period, tag=tag, around_k=k, backend=sql_backend), (
                        *where,
                        user.username,
                        k,
                    )


def test_record_award_writes_absolute_values_and_repairs_a_stale_board(settings):
    connection = RedisBackend().redis
    user = player("ada", (30, AT), (20, LAST_MONTH))
    awarded = Awarded(user.pk, AT)
    board_services.record_awards([awarded])
    first = {
        key: connection.zrange(key, 0, -1, withscores=True) for key in connection.keys("{leaderboard}:*")
    }
    board_services.record_awards([awarded])
    again = {
        key: connection.zrange(key, 0, -1, withscores=True) for key in connection.keys("{leaderboard}:*")
    }
    assert first == again
    assert first[b"{leaderboard}:all"] == [(f"ada {user.pk}".encode(), -50.0)]
    assert first[WEEK_KEY.encode()] == [(f"ada {user.pk}".encode(), -30.0)]
    # A lost update (Redis was down) leaves the board behind; the player's next award repairs it.
    connection.zadd("{leaderboard}:all", {f"ada {user.pk}": -1})
    board_services.record_awards([award(user, 5, AT)])
    assert board_selectors.top("all", at=AT).results[0].xp == 55


def test_windowed_keys_expire_after_their_window():
    backend = RedisBackend()
    connection = backend.redis
    user = player("ada", (30, AT))
    board_services.record_awards([Awarded(user.pk, AT)])
    week_end = datetime(2037, 4, 6, tzinfo=UTC) + windows.EXPIRY_GRACE
    month_end = datetime(2037, 5, 1, tzinfo=UTC) + windows.EXPIRY_GRACE
    assert connection.expiretime(WEEK_KEY) == int(week_end.timestamp())
    assert connection.expiretime(MONTH_KEY) == int(month_end.timestamp())
    assert connection.expiretime("{leaderboard}:all") == -1  # no expiry
    connection.delete(WEEK_KEY, MONTH_KEY)
    sync(backend)
    assert connection.expiretime(WEEK_KEY) == int(week_end.timestamp())
    assert connection.expiretime(MONTH_KEY) == int(month_end.timestamp())
    assert connection.expiretime("{leaderboard}:all") == -1


def test_a_redis_failure_is_logged_and_reported_not_raised(monkeypatch, caplog):
    user = player("ada", (30, AT))
    # A real client for a port nothing listens on (outside the test's Redis): the update fails.
    dead = RedisBackend(dead_redis())
    monkeypatch.setattr(board_services, "get_backend", lambda: dead)
    with caplog.at_level(logging.WARNING, logger="skillquest.leaderboard"):
        assert board_services.record_awards([Awarded(user.pk, AT)]) is False
    assert [r.getMessage() for r in caplog.records] == ["leaderboard_update_failed"]
    assert caplog.records[0].user_ids == [str(user.pk)]


def test_rebuild_after_flush_gives_the_same_board_as_the_award_path():
    connection = RedisBackend().redis
    now = timezone.now()
    for awarded in random_history(random.Random(7), at=now):
        board_services.record_awards([awarded])
    current = [w.key for w in windows.current_windows(now)]

    def snapshot():
        return {
            key: (connection.zrange(key, 0, -1, withscores=True), connection.expiretime(key))
            for key in current
        }

    before = snapshot()
    pages_before = [board_selectors.top(period, limit=100) for period in windows.PERIODS]
    assert all(before[key][0] for key in current)
    connection.flushdb()
    assert board_selectors.top("all").results == []
    call_command("rebuild_leaderboard", verbosity=0)
    assert snapshot() == before
    assert [board_selectors.top(period, limit=100) for period in windows.PERIODS] == pages_before


def test_readers_see_the_old_board_until_the_rebuilt_one_is_swapped_in():
    connection = RedisBackend().redis
    user = player("ada", (30, AT))
    board_services.record_awards([Awarded(user.pk, AT)])
    player("bob", (40, AT))
    seen = []
    board_services.rebuild(at=AT, on_progress=lambda n: seen.append(board(RedisBackend(), "all")))
    # The all-time board is rebuilt first: while its new key fills, readers get the old one.
    assert seen[0] == [(1, "ada", 30)]
    assert board(RedisBackend(), "all") == [(1, "bob", 40), (2, "ada", 30)]
    assert sorted(connection.keys("*rebuild*")) == []


def test_rebuild_drops_a_board_that_became_empty():
    connection = RedisBackend().redis
    connection.zadd("{leaderboard}:all", {"ghost 00000000-0000-0000-0000-000000000000": -5})
    report = board_services.rebuild(at=AT)
    assert [(r.key, r.players) for r in report] == [
        ("{leaderboard}:all", 0), (WEEK_KEY, 0), (MONTH_KEY, 0),
    ]  # fmt: skip
    assert connection.exists("{leaderboard}:all") == 0


def test_rebuild_deletes_the_boards_named_before_their_hash_tag():
    connection = RedisBackend().redis
    player("ada", (30, AT))
    untagged = ["leaderboard:all", "leaderboard:week:2037-W14", "leaderboard:tag:python:all"]
    for key in untagged:
        connection.zadd(key, {"gone 00000000-0000-0000-0000-000000000000": -5})
    connection.set("leaderboards-of-someone-else", 1)
    board_services.rebuild(at=AT)
    assert [connection.exists(key) for key in untagged] == [0, 0, 0]
    assert connection.exists("leaderboards-of-someone-else") == 1
    assert board(RedisBackend(), "all") == [(1, "ada", 30)]


def test_rebuild_command_reports_each_board(capsys):
    player("ada", (30, timezone.now()))
    call_command("rebuild_leaderboard", verbosity=0)
    out = capsys.readouterr().out
    week, month = windows.window_for("week").key, windows.window_for("month").key
    assert out.splitlines() == [
        "{leaderboard}:all: 1 player(s)", f"{week}: 1 player(s)", f"{month}: 1 player(s)",
    ]  # fmt: skip


def test_rebuild_command_without_redis_says_there_is_nothing_to_do(settings, capsys):
    settings.REDIS_URL = ""
    player("ada", (30, timezone.now()))
    call_command("rebuild_leaderboard", verbosity=0)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("No REDIS_URL")
    assert RedisBackend().redis.keys("{leaderboard}:*") == []


def test_page_beyond_the_end_is_empty_with_the_count(backend):
    player("ada", (30, AT))
    sync(backend)
    page = board_selectors.top("all", limit=10, offset=10, at=AT, backend=backend)
    assert (page.count, page.results) == (1, [])


def test_ranks_continue_across_a_page_that_starts_inside_a_tie(backend):
    player("a1", (10, AT))
    for name in ("b1", "b2", "b3"):
        player(name, (5, AT))
    player("c1", (1, AT))
    sync(backend)
    assert board(backend, limit=2, offset=2) == [(2, "b2", 5), (2, "b3", 5)]
    assert board(backend, limit=2, offset=4) == [(5, "c1", 1)]


def test_record_is_a_no_op_for_sql(settings):
    settings.REDIS_URL = ""
    user = player("ada", (30, AT))
    assert board_services.record_awards([Awarded(user.pk, AT)]) is True
    assert RedisBackend().redis.keys("{leaderboard}:*") == []


def test_reads_fall_back_to_the_database_when_redis_is_down(settings, caplog):
    player("ada", (30, AT))
    player("bob", (20, AT))
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    with caplog.at_level(logging.WARNING, logger="skillquest.leaderboard"):
        page = board_selectors.top("all")
        ada = User.objects.get(username="ada")
        standing = board_selectors.standing_for(ada, "all")
    assert [(e.rank, e.username, e.xp) for e in page.results] == [(1, "ada", 30), (2, "bob", 20)]
    assert standing == ranks.Standing(rank=1, xp=30)
    assert "leaderboard_read_from_database" in [r.getMessage() for r in caplog.records]
