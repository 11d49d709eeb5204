"""Recalculation as a diff against the ledger: the SQL mirror of progress.awards.rules.

What a player is owed is their history replayed under the challenges' *current* XP and pass marks,
in the order it happened: each award pays the improvement of its base over the best earlier one on
its challenge (half-up rounding, a failed attempt is worth 0, a challenge pays its best result
once), each staff grant or revocation (and, later, each quest or event bonus) adds its amount, and
the running total never goes below 0. A revocation that the replay would take below 0 — because a
challenge it was taken against is now worth less — takes the player to 0 at that moment, and what
they earn afterwards counts in full. Recalculation entries themselves are not replayed: they are
what reconciles the ledger with the replay.

A clamped running sum needs no loop: with X the plain running sum of the player's events, the
clamped total is X_last - min(0, min X) (a random walk reflected at 0). Their ledger sums to what
they have; a player whose two figures differ is a change, and applying it writes one `recalc` entry
of the difference, so the ledger still sums to every total. Because the award job pays by the same
rules and a revocation is refused below 0, a run right after an applied one finds nothing to change
unless a challenge did.

No Python loop over players: a few statements whatever the number of rows, memory flat (the
changes listed are capped, the counts are complete). `progress/tests/ledger/test_recalc.py` checks
that this SQL and `progress.awards.rules` agree.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from progress.ledger.sql import BASE_XP_SQL, DIALECTS, LEVEL_SQL, uuid_param
from skillquest.audit.services import audit_record

CHANGES_LISTED = 1000
RECALC_REASON = "Recalculated from the challenges' current XP and pass marks"

DIFF_SQL = """
CREATE TEMP TABLE recalc_diff AS
WITH graded AS (
    SELECT a.id, a.user_id, a.challenge_id, COALESCE(a.awarded_at, a.submitted_at, a.started_at) AS at,
           {base_xp} AS base
    FROM challenges_attempt a JOIN challenges_challenge c ON c.id = a.challenge_id
    WHERE a.xp_awarded IS NOT NULL
),
best_so_far AS (
    SELECT id, user_id, challenge_id, at,
           MAX(base) OVER (
               PARTITION BY user_id, challenge_id ORDER BY at, id ROWS UNBOUNDED PRECEDING
           ) AS best
    FROM graded
),
events AS (
    SELECT user_id, at, id,
           best - LAG(best, 1, 0) OVER (PARTITION BY user_id, challenge_id ORDER BY at, id) AS amount
    FROM best_so_far
    UNION ALL
    SELECT user_id, created_at, id, amount FROM progress_xpentry WHERE kind NOT IN ('attempt', 'recalc')
),
running AS (
    SELECT user_id, amount,
           SUM(amount) OVER (PARTITION BY user_id ORDER BY at, id ROWS UNBOUNDED PRECEDING) AS x
    FROM events
),
owed AS (
    SELECT user_id, SUM(amount) - {least}(MIN(x), 0) AS xp FROM running GROUP BY user_id
),
ledger AS (
    SELECT user_id, SUM(amount) AS total FROM progress_xpentry GROUP BY user_id
),
target AS (
    SELECT u.id AS user_id, u.username, u.total_xp AS projected, u.level AS level_before,
           COALESCE(l.total, 0) AS before, COALESCE(o.xp, 0) AS after
    FROM accounts_user u
    LEFT JOIN owed o ON o.user_id = u.id
    LEFT JOIN ledger l ON l.user_id = u.id
    WHERE o.user_id IS NOT NULL OR l.user_id IS NOT NULL OR u.total_xp <> 0 OR u.level <> 1
)
SELECT target.*, {level_after} AS level_after
FROM target
WHERE before <> after OR projected <> after OR level_before <> {level_after}
"""

SUMMARY_SQL = """
SELECT COALESCE(SUM(CASE WHEN after <> before THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(after - before), 0),
       COALESCE(SUM(CASE WHEN after = before THEN 1 ELSE 0 END), 0)
FROM recalc_diff
"""

CHANGES_SQL = """
SELECT user_id, username, before, after, after - before, level_before, level_after
FROM recalc_diff WHERE after <> before
ORDER BY ABS(after - before) DESC, username
LIMIT %s
"""

ENTRIES_SQL = """
INSERT INTO progress_xpentry
    (id, user_id, amount, kind, run_id, idempotency_key, reason, actor_id, explanation, created_at)
SELECT {new_id}, user_id, after - before, 'recalc', %s, 'recalc:' || %s || ':' || {user_id_text}, %s, %s,
       {json}('run_id', CAST(%s AS TEXT), 'before', before, 'after', after), %s
FROM recalc_diff WHERE after <> before
"""

PROJECTION_SQL = """
UPDATE accounts_user SET total_xp = d.after, level = d.level_after
FROM recalc_diff d WHERE accounts_user.id = d.user_id
"""


@dataclass(frozen=True)
class Change:
    user_id: str
    username: str
    before: int
    after: int
    delta: int
    level_before: int
    level_after: int


@dataclass(frozen=True)
class Recalculation:
    run_id: str
    dry_run: bool
    players_changed: int
    xp_delta_total: int
    # Players whose total or level had drifted from an unchanged ledger (a bug elsewhere): repaired
    # on apply, with no entry (an entry is never 0).
    projections_repaired: int
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def recalculation_run(*, dry_run: bool, actor_id: uuid.UUID | None = None) -> Recalculation:
    """Compare what every player is owed with their ledger; unless `dry_run`, write the difference.

    A dry run writes no XP (its temporary table is private to this connection and dropped; the run
    is recorded in the audit log like any staff action). An
    applied run locks out awards, grants and submissions while it computes and writes, so its changes
    are exactly what a dry run at that moment predicts.
    """
    vendor = connection.vendor
    dialect = DIALECTS[vendor]
    level_after = LEVEL_SQL.format(total="after")
    run_id = uuid.uuid4()
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql" and not dry_run:
            cursor.execute(
                "LOCK TABLE challenges_attempt, accounts_user, progress_xpentry IN SHARE ROW EXCLUSIVE MODE"
            )
        cursor.execute("DROP TABLE IF EXISTS recalc_diff")
        base_xp = BASE_XP_SQL.format(score="a.score", pass_score="c.pass_score", xp="c.xp")
        cursor.execute(DIFF_SQL.format(least=dialect["least"], level_after=level_after, base_xp=base_xp))
        cursor.execute(SUMMARY_SQL)
        players_changed, xp_delta_total, repaired = cursor.fetchone()
        cursor.execute(CHANGES_SQL, [CHANGES_LISTED])
        changes = [
            Change(str(uuid.UUID(str(row[0]))), row[1], *(int(value) for value in row[2:]))
            for row in cursor.fetchall()
        ]
        if not dry_run:
            run_key = str(run_id)
            cursor.execute(
                ENTRIES_SQL.format(**dialect),
                [
                    uuid_param(run_id, vendor),
                    run_key,
                    RECALC_REASON,
                    uuid_param(actor_id, vendor),
                    run_key,
                    timezone.now(),
                ],
            )
            cursor.execute(PROJECTION_SQL)
        # On an error the transaction's rollback drops the temporary table with everything else.
        cursor.execute("DROP TABLE IF EXISTS recalc_diff")
        audit_record(
            actor=User.objects.filter(pk=actor_id).first() if actor_id else None,
            action="recalc.dry_run" if dry_run else "recalc.apply",
            target_type="progress.recalculation",
            target_id=str(run_id),
            changes={
                "players_changed": int(players_changed),
                "xp_delta_total": int(xp_delta_total),
                "projections_repaired": int(repaired),
            },
        )
    return Recalculation(
        run_id=str(run_id),
        dry_run=dry_run,
        players_changed=int(players_changed),
        xp_delta_total=int(xp_delta_total),
        projections_repaired=int(repaired),
        changes=changes,
    )
