"""The Python check and the set-based SQL of every condition type award exactly the same players.

Random histories: several players in zones with DST changes inside the history (London and Sydney),
fixed-offset zones with POSIX-inverted names, attempts at every hour so that days fall on both sides
of local midnight, pending awards and attempts never submitted. The award job's evaluator (Python,
via the one stats loader) and recalculation's INSERT ... SELECT (each condition's own SQL) must then
hand out the same badges.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_bakery import baker

from accounts.models import User
from challenges.models import Attempt, Challenge, Tag
from progress.badges import conditions
from progress.badges.conditions import ALL_STATS
from progress.badges.services import badges_award_missing, badges_evaluate
from progress.badges.stats import STATS_USER_FIELDS, load_stats
from progress.models import Badge, UserBadge

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based SQL is PostgreSQL's"),
]

START = datetime(
    2025, 3, 26, tzinfo=UTC
)  # 16 days across the DST changes of London (30 Mar) and Sydney (6 Apr)
ZONES = (
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Etc/GMT+10",
    "Pacific/Kiritimati",
    "America/St_Johns",
)
# (difficulty, tag slugs) of the challenges every history plays.
CHALLENGES = (("easy", ("sql",)), ("medium", ("sql", "web")), ("hard", ()), ("easy", ("web",)))

counts = st.integers(1, 6)
CONDITION_CONFIGS = {
    "xp": st.builds(lambda n: {"type": "xp", "threshold": n}, st.integers(1, 400)),
    "level": st.builds(lambda n: {"type": "level", "level": n}, st.integers(1, 5)),
    "attempt_count": st.builds(lambda n: {"type": "attempt_count", "count": n}, counts),
    "challenges_completed": st.builds(
        lambda n, difficulty, tag: {
            "type": "challenges_completed",
            "count": n,
            **({"difficulty": difficulty} if difficulty else {}),
            **({"tag": tag} if tag else {}),
        },
        st.integers(1, 3),
        st.sampled_from([None, "easy", "medium", "hard"]),
        st.sampled_from([None, "sql", "web", "none-such"]),
    ),
    "consecutive_days": st.builds(lambda n: {"type": "consecutive_days", "days": n}, st.integers(1, 4)),
    "xp_in_window": st.builds(
        lambda xp, days: {"type": "xp_in_window", "xp": xp, "days": days},
        st.integers(1, 60),
        st.integers(1, 6),
    ),
}

attempt = st.fixed_dictionaries(
    {
        "player": st.integers(0, 3),
        "challenge": st.integers(0, len(CHALLENGES) - 1),
        "at": st.integers(0, 16 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes)),
        "status": st.sampled_from(["passed", "passed", "passed", "failed", "started"]),
        "xp": st.one_of(st.none(), st.integers(0, 60)),  # None: the award is still pending
    }
)
history = st.fixed_dictionaries(
    {
        "players": st.lists(
            st.tuples(st.sampled_from(ZONES), st.integers(0, 500), st.integers(1, 5)), min_size=1, max_size=4
        ),  # (zone, total_xp, level)
        "attempts": st.lists(attempt, max_size=30),
        "conditions": st.fixed_dictionaries(CONDITION_CONFIGS),
        "now": st.integers(0, 18 * 24 * 3600).map(lambda seconds: START + timedelta(seconds=seconds)),
    }
)


def test_every_registered_condition_type_is_covered():
    """A new condition type must bring its strategy here, or this agreement test would skip it."""
    assert set(CONDITION_CONFIGS) == set(conditions.REGISTRY)


def _make_history(data) -> list[User]:
    tags = {slug: Tag.objects.create(name=slug, slug=slug) for slug in ("sql", "web")}
    challenges = []
    for index, (difficulty, slugs) in enumerate(CHALLENGES):
        challenge = baker.make(Challenge, slug=f"c{index}", difficulty=difficulty, xp=50, published=True)
        challenge.tags.set([tags[slug] for slug in slugs])
        challenges.append(challenge)
    players = [
        baker.make(User, username=f"p{index}", timezone=zone, total_xp=total, level=level)
        for index, (zone, total, level) in enumerate(data["players"])
    ]
    Attempt.objects.bulk_create(
        Attempt(
            user=players[row["player"] % len(players)],
            challenge=challenges[row["challenge"]],
            status=row["status"],
            score=None if row["status"] == "started" else (100 if row["status"] == "passed" else 0),
            submitted_at=None if row["status"] == "started" else row["at"],
            xp_awarded=None
            if row["status"] == "started"
            else (row["xp"] if row["status"] == "passed" else 0),
        )
        for row in data["attempts"]
    )
    return players


def _qualifying_by_sql(condition, *, now) -> set:
    select, params = condition.qualifying_sql(now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT user_id FROM ({select}) q", params)
        return {row[0] for row in cursor.fetchall()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=history)
def test_python_and_sql_agree_on_every_condition_type(data):
    with transaction.atomic():
        players = _make_history(data)
        users = list(User.objects.filter(pk__in=[p.pk for p in players]).only(*STATS_USER_FIELDS))
        stats = load_stats(users=users, needs=ALL_STATS, now=data["now"])
        for kind, config in data["conditions"].items():
            condition = conditions.parse(config)
            by_python = {user.pk for user in users if condition.evaluate(stats[user.pk])}
            by_sql = _qualifying_by_sql(condition, now=data["now"]) & {user.pk for user in users}
            assert by_python == by_sql, (kind, config)
        transaction.set_rollback(True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=history)
def test_the_evaluator_and_recalculations_insert_award_the_same_badges(data):
    """End to end: the award job's evaluator and recalculation's set-based award, badge for badge."""
    with transaction.atomic():
        players = _make_history(data)
        for kind, config in data["conditions"].items():
            Badge.objects.create(name=kind, slug=kind.replace("_", "-"), condition=config)

        def held() -> set[tuple]:
            return set(UserBadge.objects.values_list("user_id", "badge__slug"))

        with transaction.atomic():
            by_sql_count = badges_award_missing(now=data["now"])
            by_sql = held()
            transaction.set_rollback(True)
        with transaction.atomic():
            by_python_count = len(badges_evaluate(user_ids=[p.pk for p in players], now=data["now"]))
            by_python = held()
            transaction.set_rollback(True)
        assert by_python == by_sql
        assert by_python_count == by_sql_count == len(by_sql)
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("local_time", "earned"),
    [
        # Sydney; now is 2025-04-07 00:30 local (after the DST change of 6 April); a 3-day window is
        # 5, 6 and 7 April, local.
        (datetime(2025, 4, 5, 0, 0), True),  # the window's first local minute
        (datetime(2025, 4, 4, 23, 59), False),  # the minute before it
        (datetime(2025, 4, 7, 0, 10), True),  # today
    ],
)
def test_xp_in_window_edges_agree(make_challenge, local_time, earned):
    sydney = zoneinfo.ZoneInfo("Australia/Sydney")
    now = datetime(2025, 4, 7, 0, 30, tzinfo=sydney)
    player = baker.make(User, username="edge", timezone="Australia/Sydney")
    baker.make(
        Attempt,
        user=player,
        challenge=make_challenge(),
        status=Attempt.Status.PASSED,
        score=100,
        xp_awarded=30,
        submitted_at=local_time.replace(tzinfo=sydney),
    )
    condition = conditions.parse({"type": "xp_in_window", "xp": 30, "days": 3})
    user = User.objects.only(*STATS_USER_FIELDS).get(pk=player.pk)
    assert condition.evaluate(load_stats(users=[user], needs=ALL_STATS, now=now)[user.pk]) is earned
    assert (player.pk in _qualifying_by_sql(condition, now=now)) is earned
