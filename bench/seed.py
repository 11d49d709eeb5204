"""seed: `manage.py seed --users N --attempts M` into a fresh, migrated database: wall time and peak RSS.

    .venv/bin/python bench/seed.py [--quick] [--users 100000] [--attempts 1000000]

Target: 100k players / 1M attempts in under 3 minutes. The database (bench_seed_run) is dropped after.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--attempts", type=int, default=1_000_000)
    p.add_argument("--keep", action="store_true", help="Keep the database as bench_u{N}_a{M} for the others.")
    args = p.parse_args()
    if args.quick:
        args.users, args.attempts = 2_000, 20_000
    with h.Harness("seed") as bench:
        name = f"{h.DB_PREFIX}seed_run"
        bench.fresh_db(name)
        bench.migrate()
        wall, peak, out = bench.manage("seed", "--users", str(args.users), "--attempts", str(args.attempts))
        counts = bench.psql(
            "SELECT (SELECT count(*) FROM accounts_user), (SELECT count(*) FROM challenges_attempt)"
        )
        bench.use_db(f"{h.DB_PREFIX}template")
        if args.keep:
            target = f"{h.DB_PREFIX}u{args.users}_a{args.attempts}"
            bench.drop_db(target)
            bench.psql(f"ALTER DATABASE {name} RENAME TO {target}", db="postgres")
        else:
            bench.drop_db(name)
    full = (args.users, args.attempts) == (100_000, 1_000_000)
    results = [
        h.Result(
            "seed",
            f"seed --users {args.users:,} --attempts {args.attempts:,}",
            round(args.attempts / wall),
            "attempts/s",
            peak_rss_mb=peak,
            target="< 180 s at 100k/1M",
            passed=wall < 180 if full else None,
            extra={"wall_seconds": round(wall, 2), "rows": counts, "output": out.strip().splitlines()[-1:]},
        )
    ]
    print(f"[seed] {args.users:,} players / {args.attempts:,} attempts in {wall:.1f} s (peak RSS {peak} MB)")
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
