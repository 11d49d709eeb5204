"""Cluster-ready keys: every MULTI and every script of ours touches keys of one Redis Cluster slot.

Watched on the real Redis with MONITOR while the board writes and reads, a rebuild and the throttles
run; each transaction's and each script's keys are asked of Redis itself (COMMAND GETKEYS) and
must share one slot (`redis.crc.key_slot`, the slot a cluster would route them to).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.conf import settings
from redis import Redis
from redis.crc import key_slot
from redis.exceptions import ResponseError

from challenges.tests.helpers import make_challenge, start
from progress.boards import services as board_services
from progress.boards.backends import RedisBackend
from progress.boards.windows import PERIODS, window_for
from progress.tests.boards.factory import award, challenge, player
from skillquest.redis_client import redis_connection
from skillquest.throttling import FixedWindowThrottle, window_hits

pytestmark = pytest.mark.django_db

AT = datetime(2037, 4, 1, 12, 0, tzinfo=UTC)  # in the future: windowed boards expire after their window
MONITOR_LINE = re.compile(r"^[\d.]+ \[(\d+) ([^\]]+)\] (.*)$")
MONITOR_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Group:
    """What must land in one slot: one MULTI ... EXEC of a client, or one script call."""

    commands: list[list[str]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    @property
    def names(self) -> set[str]:
        return {command[0].upper() for command in self.commands}


def _keys_of(client: Redis, command: list[str]) -> list[str]:
    """The keys of `command` as Redis itself finds them (COMMAND GETKEYS: EVALSHA's declared ones)."""
    try:
        return [key.decode() if isinstance(key, bytes) else key for key in client.command_getkeys(*command)]
    except ResponseError:  # MULTI, EXEC and other commands without keys
        return []


def watched(run: Callable[[], object]) -> list[Group]:
    """Run `run` under MONITOR and return the transactions and script calls it sent to our database."""
    client = redis_connection()
    db = client.connection_pool.connection_kwargs.get("db") or 0
    marker = f"end-of-watch-{uuid.uuid4().hex}"
    lines = []
    with Redis.from_url(settings.REDIS_URL).monitor() as monitor:
        run()
        client.echo(marker)
        while True:
            line = monitor.connection.read_response()
            line = line.decode() if isinstance(line, bytes) else str(line)
            if marker in line:
                break
            lines.append(line)
    open_multi: dict[str, Group] = {}
    groups = []
    for line in lines:
        found = MONITOR_LINE.match(line)
        # Other databases are other tests (or engineers); "lua" lines are a script's own calls,
        # whose keys the script declared (Redis refuses undeclared ones in a cluster).
        if not found or int(found[1]) != db or found[2] == "lua":
            continue
        source, command = found[2], MONITOR_ARG.findall(found[3])
        name = command[0].upper()
        if name == "MULTI":
            open_multi[source] = Group()
        elif name == "EXEC":
            groups.append(open_multi.pop(source))
        elif source in open_multi:
            open_multi[source].commands.append(command)
            open_multi[source].keys.update(_keys_of(client, command))
        elif name in {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL"}:
            groups.append(Group([command], set(_keys_of(client, command))))
    return groups


def _slots(keys: set[str]) -> set[int]:
    return {key_slot(key.encode()) for key in keys}


def test_every_board_key_of_every_period_and_tag_shares_one_slot():
    keys = {
        window_for(period, at, tag=tag).key
        for period in PERIODS
        for tag in (None, "python", "sql", "a-very-long-tag_slug-2")
        for at in (AT, datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    }
    # Per scope: all-time once, two weeks (the last two dates share ISO week 2026-W53), three months.
    assert len(keys) == 4 * (1 + 2 + 3)
    assert len(_slots(keys)) == 1
    assert len(_slots({key.replace("{", "").replace("}", "") for key in keys})) > 1  # the tag does it


def test_board_writes_rebuilds_and_scripts_touch_one_slot_each():
    tagged = challenge("tagged", tags=("python", "sql"))
    ada = player("ada")
    bob = player("bob")
    awards = [award(ada, 50, AT, on=tagged), award(bob, 30, AT, on=tagged), award(bob, 5, AT)]
    backend = RedisBackend()

    def boards() -> None:
        board_services.record_awards(awards)
        board_services.record_awards(awards[:1], lowered=True)
        board_services.rebuild(at=AT, backend=backend)
        for tag in (None, "python"):
            for period in PERIODS:
                window = window_for(period, AT, tag=tag)
                assert backend.standing(window, ada) is not None
                assert backend.neighbours(window, bob, 1) is not None
                backend.page(window, 10, 0)

    groups = watched(boards)

    assert groups, "MONITOR saw no transaction or script"
    for group in groups:
        assert len(_slots(group.keys)) == 1, group
    # What was watched is what matters: record()'s MULTI over every period of every challenge and of
    # both tags, the rebuild's RENAME of a temporary key, both scripts, the page's MULTI.
    records = [group for group in groups if "ZADD" in group.names and "RENAME" not in group.names]
    assert any(len(group.keys) == 3 * 3 for group in records), [sorted(g.keys) for g in records]
    renames = [group for group in groups if "RENAME" in group.names]
    assert renames and all(any(":rebuild:" in key for key in group.keys) for group in renames)
    assert sum("EVALSHA" in group.names for group in groups) >= 2 * 2 * len(PERIODS)
    assert any(group.names == {"ZCARD", "ZRANGE"} for group in groups)


def test_throttle_counters_of_one_request_share_a_slot(auth_client):
    login = FixedWindowThrottle.cache_format
    counters = [
        (login % {"scope": "login_ip", "ident": "203.0.113.9"}, 10, 60),
        (login % {"scope": "login_user", "ident": "5f3a"}, 10, 60),
        (login % {"scope": "user", "ident": "42"}, 1000, 3600),
    ]
    target = make_challenge()

    def throttled() -> None:
        assert [allowed for allowed, _ in window_hits(counters)] == [True, True, True]
        assert start(auth_client, target)  # the user and start limits, in one script call

    groups = watched(throttled)

    scripts = [group for group in groups if group.names & {"EVALSHA", "EVAL"}]
    assert sorted(len(group.keys) for group in scripts) == [2, 3]
    for group in scripts:
        assert len(_slots(group.keys)) == 1, group
    assert len(_slots({key.replace("{", "").replace("}", "") for g in scripts for key in g.keys})) > 1


def test_keys_are_grouped_per_client_and_database():
    """The watcher itself: a MULTI over keys of two slots is seen as one group with both keys."""
    client = redis_connection()

    def cross_slot() -> None:
        pipe = client.pipeline(transaction=True)
        pipe.set("cluster-check:a", 1)
        pipe.set("cluster-check:b", 2)
        pipe.execute()

    groups = watched(cross_slot)
    seen: defaultdict[frozenset[str], set[str]] = defaultdict(set)
    for group in groups:
        seen[frozenset(group.names)] |= group.keys
    assert seen[frozenset({"SET"})] == {"cluster-check:a", "cluster-check:b"}
    assert len(_slots(seen[frozenset({"SET"})])) == 2
