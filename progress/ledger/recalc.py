"""Recalculation as a diff against the ledger: the SQL mirror of progress.awards.rules.

What a player is owed: for every challenge they were awarded on, the base of their best awarded
score at the challenge's *current* XP and pass mark (half-up rounding, a failed attempt is worth 0,
a challenge pays its best result once), plus every entry that is not an award or a recalculation
(staff grants and revocations, later quests and event bonuses), never below 0. Their ledger sums to
what they have. A player whose two figures differ is a change; applying it writes one `recalc`
entry of the difference, so the ledger still sums to every total.

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
WITH best AS (
    SELECT user_id, challenge_id, MAX(score) AS score
    FROM challenges_attempt
    WHERE xp_awarded IS NOT NULL
    GROUP BY user_id, challenge_id
),
owed AS (
    SELECT b.user_id,
           SUM({base_xp}) AS xp
    FROM best b JOIN challenges_challenge c ON c.id = b.challenge_id
    GROUP BY b.user_id
),
ledger AS (
    SELECT user_id, SUM(amount) AS total,
           SUM(CASE WHEN kind IN ('attempt', 'recalc') THEN 0 ELSE amount END) AS other
    FROM progress_xpentry
    GROUP BY user_id
),
target AS (
    SELECT u.id AS user_id, u.username, u.total_xp AS projected, u.level AS level_before,
           COALESCE(l.total, 0) AS before,
           {greatest}(COALESCE(o.xp, 0) + COALESCE(l.other, 0), 0) AS after
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
       {json}('run_id', %s, 'before', before, 'after', after), %s
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

    A dry run writes nothing (its temporary table is private to this connection and dropped). An
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
        base_xp = BASE_XP_SQL.format(score="b.score", pass_score="c.pass_score", xp="c.xp")
        cursor.execute(
            DIFF_SQL.format(greatest=dialect["greatest"], level_after=level_after, base_xp=base_xp)
        )
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
