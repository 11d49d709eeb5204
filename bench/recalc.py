"""recalc: `manage.py recalc_xp` (dry run and apply) on M attempts / N players: wall time, peak RSS.

    .venv/bin/python bench/recalc.py [--quick] [--users 100000] [--attempts 1000000]

Target: 1M attempts / 100k players in under 30 s, dry run and apply alike; peak memory independent
of the number of players (run at two sizes: the script prints the RSS ratio, target < 1.2).
PostgreSQL does the work, so the command's own RSS stays that of a Django process.
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
    args = p.parse_args()
    if args.quick:
        args.users, args.attempts = 1_000, 10_000
    results: list[h.Result] = []
    with h.Harness("recalc") as bench:
        small_users, small_attempts = max(1, args.users // 10), max(1, args.attempts // 10)
        peaks = {}
        for users, attempts in ((small_users, small_attempts), (args.users, args.attempts)):
            bench.dataset(users, attempts)
            bench.redis_reset()
            full = (users, attempts) == (100_000, 1_000_000)
            # After every challenge's XP changed by 1 (most totals move): a dry run, then the apply
            # (which must list the same changes), then again on the now consistent data (the no-op
            # an operator's re-run costs).
            bench.psql("UPDATE challenges_challenge SET xp = CASE WHEN xp < 1000 THEN xp + 1 ELSE xp - 1 END")
            cases = {
                "dry run, all XP changed": ("recalc_xp", "--dry-run"),
                "apply, all XP changed": ("recalc_xp",),
                "apply, no-op": ("recalc_xp",),
            }
            for case, command in cases.items():
                wall, peak, out = bench.manage(*command)
                out = out.strip().splitlines()[-1]
                peaks[users] = max(peaks.get(users) or 0, peak or 0)
                results.append(
                    h.Result(
                        "recalc",
                        f"recalc_xp {case}, {attempts:,} attempts / {users:,} players",
                        round(attempts / wall),
                        "attempts/s",
                        peak_rss_mb=peak,
                        target="< 30 s at 1M/100k",
                        passed=wall < 30 if full else None,
                        extra={"wall_seconds": round(wall, 2), "output": out},
                    )
                )
                print(
                    f"[recalc] {case}: {attempts:,} attempts / {users:,} players: "
                    f"{wall:.2f} s, peak RSS {peak} MB: {out}"
                )
        results.append(
            h.memory_ratio("recalc", "peak RSS ratio 10x players / 1x", peaks[small_users], peaks[args.users])
        )
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
