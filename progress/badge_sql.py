"""Set-based badge awards for recalculation: one INSERT ... SELECT per badge, whatever the player count.

The SQL here mirrors the condition classes in `progress.conditions` (which judge one player from a
`PlayerStats` snapshot); `progress/tests/test_badge_sql.py` checks that both agree on random histories.
PostgreSQL only: the SQLite quickstart re-evaluates players one by one instead.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone

from progress import conditions

PASSED = "a.status = 'passed'"


def qualifying_players_sql(condition: conditions.Condition) -> tuple[str, list[Any]]:
    """SQL selecting `user_id` of every player who meets the condition (duplicates allowed)."""
    if isinstance(condition, conditions.XpCondition):
        return "SELECT id AS user_id FROM accounts_user WHERE total_xp >= %s", [condition.threshold]
    if isinstance(condition, conditions.LevelCondition):
        return "SELECT id AS user_id FROM accounts_user WHERE level >= %s", [condition.level]
    if isinstance(condition, conditions.AttemptCountCondition):
        return (
            f"SELECT a.user_id FROM challenges_attempt a WHERE {PASSED} AND a.submitted_at IS NOT NULL "
            "GROUP BY a.user_id HAVING COUNT(*) >= %s",
            [condition.count],
        )
    if isinstance(condition, conditions.ChallengesCompletedCondition):
        joins, filters, params = "", "", []
        if condition.difficulty:
            filters += " AND c.difficulty = %s"
            params.append(condition.difficulty)
        if condition.tag:
            joins = (
                " JOIN challenges_challenge_tags ct ON ct.challenge_id = c.id"
                " JOIN challenges_tag t ON t.id = ct.tag_id AND t.slug = %s"
            )
            params.insert(0, condition.tag)
        return (
            "SELECT a.user_id FROM challenges_attempt a JOIN challenges_challenge c ON c.id = a.challenge_id"
            f"{joins} WHERE {PASSED}{filters} GROUP BY a.user_id HAVING COUNT(DISTINCT a.challenge_id) >= %s",
            [*params, condition.count],
        )
    if isinstance(condition, conditions.ConsecutiveDaysCondition):
        # Gaps and islands over each player's distinct local days with a pass: consecutive days minus
        # their row number are constant within a run.
        return (
            "WITH days AS ("
            "  SELECT DISTINCT a.user_id, (a.submitted_at AT TIME ZONE u.timezone)::date AS day"
            "  FROM challenges_attempt a JOIN accounts_user u ON u.id = a.user_id"
            f"  WHERE {PASSED} AND a.submitted_at IS NOT NULL"
            "), runs AS ("
            "  SELECT user_id, day - (ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY day))::int AS run"
            "  FROM days"
            ") SELECT user_id FROM runs GROUP BY user_id, run HAVING COUNT(*) >= %s",
            [condition.days],
        )
    raise NotImplementedError(f"No set-based SQL for {condition.type} conditions.")


def award_missing(*, badge_id: Any, condition: conditions.Condition) -> int:
    """Give the badge to every active player who meets its condition and lacks it; returns how many."""
    select, params = qualifying_players_sql(condition)
    sql = (
        "INSERT INTO progress_userbadge (id, user_id, badge_id, awarded_at, metadata) "
        'SELECT gen_random_uuid(), q.user_id, %s, %s, \'{"source": "recalculation"}\'::jsonb '
        f"FROM (SELECT DISTINCT user_id FROM ({select}) s) q "
        "JOIN accounts_user u ON u.id = q.user_id AND u.is_active "
        "ON CONFLICT (user_id, badge_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [badge_id, timezone.now(), *params])
        return cursor.rowcount
