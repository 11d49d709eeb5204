"""SQL shared by the set-based writers (recalculation, the load seeder): the rules and the dialects.

`progress.awards.rules` is the one implementation of the rules; these are its SQL mirrors, and
`progress/tests/ledger/test_recalc.py` checks that they agree.
"""

from __future__ import annotations

# round_half_up(xp * score / 100) if the score passes, else 0: rules.attempt_base_xp.
BASE_XP_SQL = "CASE WHEN {score} >= {pass_score} THEN ({xp} * {score} * 2 + 100) / 200 ELSE 0 END"

# int(sqrt(total_xp) / 10) + 1: rules.level_for_xp (exact for every int32 total).
LEVEL_SQL = "CAST(FLOOR(SQRT({total}) / 10) AS INTEGER) + 1"

_SQLITE_DASHED = (
    "substr({c}, 1, 8) || '-' || substr({c}, 9, 4) || '-' || substr({c}, 13, 4)"
    " || '-' || substr({c}, 17, 4) || '-' || substr({c}, 21, 12)"
)

# What differs between the two engines: a fresh UUID, a UUID column as dashed text (as str(uuid),
# for idempotency keys), a JSON object, the larger and the smaller of two values.
DIALECTS = {
    "postgresql": {
        "new_id": "gen_random_uuid()",
        "user_id_text": "user_id::text",
        "attempt_id_text": "attempt_id::text",
        "json": "jsonb_build_object",
        "greatest": "GREATEST",
        "least": "LEAST",
    },
    "sqlite": {
        # Django stores UUIDs on SQLite as 32 hex digits.
        "new_id": "lower(hex(randomblob(16)))",
        "user_id_text": _SQLITE_DASHED.format(c="user_id"),
        "attempt_id_text": _SQLITE_DASHED.format(c="attempt_id"),
        "json": "json_object",
        "greatest": "MAX",
        "least": "MIN",
    },
}


def uuid_param(value, vendor: str):
    """A UUID as a raw-SQL parameter for a UUID column: native on PostgreSQL, hex on SQLite."""
    if value is None:
        return None
    return value if vendor == "postgresql" else value.hex
