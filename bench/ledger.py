"""ledger: the XP ledger at 1 M entries — history reads, and the migration that builds the ledger.

    .venv/bin/python bench/ledger.py [--quick] [--users 100000] [--attempts 1000000] [--entries 1000000]

1. On the seeded data set, pads the ledger to `--entries` entries (staff grants of 1 XP spread over
   every player, totals moved with them), gives one player 1,000 entries, then times in-process
   (bench/_direct.py, no network) `GET /users/{id}/xp-history` (first page) and that player's
   progress. Target: p99 < 5 ms each.
2. Copies that database, migrates `progress` back to before the ledger (0002: the table is dropped,
   every award stays on its attempt) and times `manage.py migrate progress 0004` — the table, its
   trigger and the set-based data migration of every award. Target: 1 M attempts in < 60 s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

PAD_SQL = """
WITH players AS (
    SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM accounts_user WHERE username LIKE 'load%%'
),
-- Each padding row's player slot as a column of its own, so the join is a hash join of two columns
-- (joined on an expression of both sides, the planner took a nested loop: rows x players).
slots AS (
    SELECT g, g %% (SELECT count(*) FROM players) AS n FROM generate_series(1, %(missing)s) g
),
staff AS (SELECT id FROM accounts_user WHERE is_staff ORDER BY username LIMIT 1),
padding AS (
    INSERT INTO progress_xpentry
        (id, user_id, amount, kind, idempotency_key, reason, actor_id, explanation, created_at)
    SELECT gen_random_uuid(), p.id, 1, 'grant', 'bench-pad:' || s.g, 'bench padding',
           (SELECT id FROM staff), '{}', now() - (s.g %% 8760) * interval '1 hour'
    FROM slots s
    JOIN players p ON p.n = s.n
    RETURNING user_id
)
UPDATE accounts_user u SET total_xp = u.total_xp + c.added,
    level = CAST(FLOOR(SQRT(u.total_xp + c.added) / 10) AS INTEGER) + 1
FROM (SELECT user_id, count(*) AS added FROM padding GROUP BY user_id) c WHERE u.id = c.user_id
"""


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--attempts", type=int, default=1_000_000)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=500)
    args = p.parse_args()
    if args.quick:
        args.users, args.attempts, args.entries, args.repeat = 1_000, 10_000, 20_000, 50
    full = (args.users, args.attempts, args.entries) == (100_000, 1_000_000, 1_000_000)
    results: list[h.Result] = []
    with h.Harness("ledger") as bench:
        bench.dataset(args.users, args.attempts)
        source = bench.database_url.rsplit("/", 1)[1]
        entries = int(bench.psql("SELECT count(*) FROM progress_xpentry"))
        if entries < args.entries:
            bench.psql(PAD_SQL % {"missing": args.entries - entries})
            bench.psql("ANALYZE")
        bench.redis_reset()
        direct = bench.direct(repeat=args.repeat, history_entries=1000)
        print(f"[ledger] {direct['ledger_entries']:,} ledger entries")
        for name in ("xp-history first page", "progress (player with the long history)"):
            cost = direct["endpoints"][name]
            results.append(
                h.Result(
                    "ledger",
                    f"{name}, 1,000 entries, {direct['ledger_entries']:,} in the ledger",
                    cost["p99_ms"],
                    "ms p99",
                    p50_ms=cost["p50_ms"],
                    p99_ms=cost["p99_ms"],
                    target="p99 < 5 ms at 1M entries",
                    passed=cost["p99_ms"] < 5 if full else None,
                    extra={"queries": cost.get("queries"), "n": cost["n"]},
                )
            )
            print(
                f"[ledger] {name}: p50 {cost['p50_ms']} ms, p99 {cost['p99_ms']} ms,"
                f" {cost.get('queries')} queries"
            )

        copy = f"{h.DB_PREFIX}ledger_migration"
        bench.drop_db(copy)
        subprocess.run(["createdb", "-h", h.PG_HOST, "-U", h.PG_USER, "-T", source, copy], check=True)
        bench.use_db(copy)
        bench.manage("migrate", "progress", "0002")
        attempts = int(bench.psql("SELECT count(*) FROM challenges_attempt WHERE xp_awarded > 0"))
        wall, peak, _ = bench.manage("migrate", "progress", "0004")
        migrated = int(bench.psql("SELECT count(*) FROM progress_xpentry"))
        mismatched = bench.psql(
            "SELECT count(*) FROM accounts_user u LEFT JOIN"
            " (SELECT user_id, SUM(amount) AS s FROM progress_xpentry GROUP BY user_id) l ON l.user_id = u.id"
            " WHERE u.total_xp <> COALESCE(l.s, 0)"
        )
        bench.use_db(source)
        bench.drop_db(copy)
        results.append(
            h.Result(
                "ledger",
                f"data migration 0003+0004, {args.attempts:,} attempts ({attempts:,} paid)",
                round(wall, 2),
                "s",
                peak_rss_mb=peak,
                target="< 60 s at 1M attempts",
                passed=wall < 60 if full else None,
                extra={"entries_written": migrated, "players_not_summing": int(mismatched)},
            )
        )
        print(
            f"[ledger] migrate progress 0004: {wall:.1f} s for {attempts:,} paid attempts"
            f" -> {migrated:,} entries;"
            f" players whose total is not their ledger: {mismatched}"
        )
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
