"""Every award made before the ledger becomes an `attempt` entry; drifted totals get an opening entry.

Set-based SQL, a few statements whatever the number of attempts (bench/ledger_migration.py: 1 M
attempts). The SQL is written out here rather than imported, so that this migration keeps doing
what it did when later code changes.
"""

import uuid

from django.db import migrations
from django.utils import timezone

OPENING_REASON = "Balance carried over when the XP ledger was introduced"

# What differs between the two engines: a fresh UUID, a UUID as dashed text, a JSON object.
DIALECTS = {
    "postgresql": {
        "new_id": "gen_random_uuid()",
        "text": lambda column: f"{column}::text",
        "json": "jsonb_build_object",
    },
    "sqlite": {
        "new_id": "lower(hex(randomblob(16)))",
        # Django stores UUIDs on SQLite as 32 hex digits; keys use the dashed form, as str(uuid).
        "text": lambda column: (
            f"substr({column}, 1, 8) || '-' || substr({column}, 9, 4) || '-' || substr({column}, 13, 4)"
            f" || '-' || substr({column}, 17, 4) || '-' || substr({column}, 21, 12)"
        ),
        "json": "json_object",
    },
}


def entries_from_awards(apps, schema_editor):
    connection = schema_editor.connection
    dialect = DIALECTS[connection.vendor]
    run_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO progress_xpentry
                (id, user_id, amount, kind, attempt_id, idempotency_key, reason, explanation, created_at)
            SELECT {dialect["new_id"]}, a.user_id, a.xp_awarded, 'attempt', a.id,
                   'attempt:' || {dialect["text"]("a.id")}, '',
                   {dialect["json"]}('score', a.score, 'paid', a.xp_awarded),
                   COALESCE(a.awarded_at, a.submitted_at, a.started_at)
            FROM challenges_attempt a
            WHERE a.xp_awarded > 0
            """
        )
        run_text = str(run_id) if connection.vendor == "postgresql" else run_id.hex
        cursor.execute(
            f"""
            INSERT INTO progress_xpentry
                (id, user_id, amount, kind, run_id, idempotency_key, reason, explanation, created_at)
            SELECT {dialect["new_id"]}, u.id, u.total_xp - COALESCE(s.total, 0), 'recalc', %s,
                   'recalc:' || %s || ':' || {dialect["text"]("u.id")}, %s,
                   {dialect["json"]}('before', COALESCE(s.total, 0), 'after', u.total_xp), %s
            FROM accounts_user u
            LEFT JOIN (
                SELECT user_id, SUM(xp_awarded) AS total FROM challenges_attempt
                WHERE xp_awarded > 0 GROUP BY user_id
            ) s ON s.user_id = u.id
            WHERE u.total_xp <> COALESCE(s.total, 0)
            """,
            [run_text, str(run_id), OPENING_REASON, timezone.now()],
        )


class Migration(migrations.Migration):
    dependencies = [("progress", "0003_xp_ledger")]

    # Reversing drops nothing by hand: unapplying 0003 drops the table (and its trigger) whole.
    operations = [migrations.RunPython(entries_from_awards, migrations.RunPython.noop)]
