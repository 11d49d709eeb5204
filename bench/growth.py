"""growth: cost per operation at each size (default 10k, 100k, 1M players), and largest/smallest ratio.

    .venv/bin/python bench/growth.py [--quick] [--sizes 10k,100k,1M]

Operations, measured in-process by bench/_direct.py (median server-side ms, no network): leaderboard
top 10 and a deep page (skipped while the endpoint 404s), a tag board's top 10, a friends board of 500
followed players, around me on every challenge's board and on a tag's, rank (the progress endpoint's
`rank`, and the raw ZREVRANK / SQL COUNT behind a rank), progress, and one award by the award job.
Target: ratio largest/smallest size < 2 for every operation (flat or logarithmic, never linear).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10k,100k,1M")
    p.add_argument("--repeat", type=int, default=300)
    p.add_argument("--awards", type=int, default=200)
    p.add_argument("--attempts-per-player", type=int, default=2, help="data set: seed --attempts N*this")
    args = p.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.awards = "500,2000", 30, 20
    costs: dict[str, dict[int, float | None]] = {}
    with h.Harness("growth") as bench:
        for users in h.sizes(args.sizes):
            bench.dataset(users, users * args.attempts_per_player)
            bench.redis_reset(zset_members=users)
            direct = bench.direct(repeat=args.repeat, awards=args.awards)
            endpoints = direct["endpoints"]
            rank_field = endpoints["progress (+ rank)"].get("has_rank")
            ops = {
                "leaderboard top 10 (API, page built)": endpoints["leaderboard top 10 (page built)"],
                "leaderboard top 10 (API, page from memory)": endpoints[
                    "leaderboard top 10 (page from memory)"
                ],
                "leaderboard deep page (API, page built)": endpoints["leaderboard deep page (page built)"],
                "progress (API)" + (" incl. rank" if rank_field else ", no rank field yet"): endpoints[
                    "progress (+ rank)"
                ],
                "tag board top 10 (API, page built)": endpoints["tag board top 10 (page built)"],
                "friends board, 500 followed (API)": endpoints["friends board (500 followed)"],
                "around me, k=5 (API)": endpoints["around me (k=5)"],
                "around me on a tag board, k=5 (API)": endpoints["around me on a tag board (k=5)"],
                "rank: Redis ZREVRANK": direct["redis"]["ZREVRANK"],
                "rank: SQL COUNT(total_xp > x)": direct["sql"]["rank by COUNT(total_xp > x)"],
                "award (award job, one attempt)": direct["award"],
            }
            for name, cost in ops.items():
                costs.setdefault(name, {})[users] = None if cost.get("skipped") else cost["p50_ms"]
    results = []
    for name, by_size in costs.items():
        values = [by_size[s] for s in sorted(by_size)]
        skipped = any(v is None for v in values)
        reference = name.startswith("rank: SQL")  # the naive alternative, shown for contrast: linear
        ratio = None if skipped or not values[0] else values[-1] / values[0]
        results.append(
            h.Result(
                "growth",
                name,
                round(ratio, 2) if ratio else None,
                f"x ({min(by_size):,} -> {max(by_size):,})",
                p50_ms=values[-1],
                target="skipped: endpoint 404" if skipped else "reference only" if reference else "ratio < 2",
                passed=None if skipped or reference else ratio < 2,
                extra={"p50_ms_by_players": {str(k): v for k, v in sorted(by_size.items())}},
            )
        )
        shown = "  ".join(
            f"{s:>9,}: {'-' if v is None else f'{v:.3f} ms'}" for s, v in sorted(by_size.items())
        )
        print(f"{name:<42} {shown}   ratio {'-' if ratio is None else f'{ratio:.2f}'}")
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
