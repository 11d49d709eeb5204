"""Set-based recalculation of XP and levels: the SQL mirror of progress.awards.rules.

Every awarded attempt's `xp_awarded` is recomputed from the challenge's *current* XP and pass mark
by the same rules as the award job (half-up rounding, a failed attempt is worth 0, a challenge pays
its best result once, in award order), then every player's total and level. No Python loop over
players: the cost is a few statements whatever the number of rows, and memory stays flat.
`progress/tests/awards/test_recalc.py` checks that this SQL and `progress.awards.rules` agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

# base = round_half_up(xp * score / 100) = (xp * score * 2 + 100) / 200 in integer arithmetic,
# exactly as rules.base_xp. Award order is (awarded_at, id), as the award job serialises per player.
RECALC_ATTEMPTS_SQL = """
WITH graded AS (
    SELECT a.id, a.user_id, a.challenge_id, a.awarded_at,
           CASE WHEN a.score >= c.pass_score THEN (c.xp * a.score * 2 + 100) / 200 ELSE 0 END AS base
    FROM challenges_attempt a
    JOIN challenges_challenge c ON c.id = a.challenge_id
    WHERE a.xp_awarded IS NOT NULL
),
running AS (
    SELECT id, user_id, challenge_id, awarded_at,
           MAX(base) OVER (
               PARTITION BY user_id, challenge_id ORDER BY awarded_at, id ROWS UNBOUNDED PRECEDING
           ) AS best_so_far
    FROM graded
),
award AS (
    SELECT id,
           best_so_far - LAG(best_so_far, 1, 0) OVER (
               PARTITION BY user_id, challenge_id ORDER BY awarded_at, id
           ) AS xp
    FROM running
)
UPDATE challenges_attempt SET xp_awarded = award.xp
FROM award
WHERE challenges_attempt.id = award.id AND challenges_attempt.xp_awarded <> award.xp
"""

# level = int(sqrt(total_xp) / 10) + 1, as rules.level_for_xp (exact for every int32 total).
LEVEL_SQL = "CAST(FLOOR(SQRT(totals.total) / 10) AS INTEGER) + 1"

RECALC_USERS_SQL = f"""
WITH totals AS (
    SELECT u.id, COALESCE(SUM(a.xp_awarded), 0) AS total
    FROM accounts_user u
    LEFT JOIN challenges_attempt a ON a.user_id = u.id AND a.xp_awarded IS NOT NULL
    GROUP BY u.id
)
UPDATE accounts_user SET total_xp = totals.total, level = {LEVEL_SQL}
FROM totals
WHERE accounts_user.id = totals.id
  AND (accounts_user.total_xp <> totals.total OR accounts_user.level <> {LEVEL_SQL})
"""  # noqa: S608 (only module constants are interpolated)


@dataclass(frozen=True)
class RecalcResult:
    attempts_changed: int
    users_changed: int


@transaction.atomic
def recalculate_xp() -> RecalcResult:
    """Recompute awarded XP, totals and levels in place; on consistent data nothing changes."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Awards wait while the recalculation runs, so none is computed against half-updated rows.
            cursor.execute("LOCK TABLE challenges_attempt, accounts_user IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(RECALC_ATTEMPTS_SQL)
        attempts_changed = cursor.rowcount
        cursor.execute(RECALC_USERS_SQL)
        users_changed = cursor.rowcount
    return RecalcResult(attempts_changed=attempts_changed, users_changed=users_changed)
