"""leaderboard: top 10, a deep page, and one player's rank + progress at each size, via API and directly.

    .venv/bin/python bench/leaderboard.py [--quick] [--sizes 10k,100k,1M] [--seconds 10]
    .venv/bin/python bench/leaderboard.py --via-proxy [--quick] [--sizes 10k] [--seconds 10] [--rate 200]

Through the API (gunicorn from the Procfile, wrk from its own process): requests/s and latency of
`GET /api/v1/leaderboard?period=all&limit=10&offset=0`, a page in the middle of the board, and
`GET /api/v1/users/{id}/progress` for random players, next to the bare Redis top-10 ceiling view
(each path warmed up for 1 s first; ceiling, top 10 and deep page measured in two alternating
rounds); top 10 again while start+submit flows at --rate pairs/s (bench/pacer.py, open loop).
Directly (bench/_direct.py): the server-side cost of each endpoint in-process and of the Redis/SQL
calls behind it.
Data: `seed --users N --attempts 2N` (`--attempts-per-player` changes the 2).
An endpoint that answers 404 today is reported as skipped.
Also the `sql` tag board's top 10 (alternating with the rest) and, in-process, a friends board of 500
followed players and around-me views.
Targets: top 10 and tag top 10 >= 80 % of the Redis ceiling; >= 70 % of idle while submits flow;
rank/progress, friends (500 followed) and around=me p99 < 5 ms server-side at 1M players.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

TOP10 = "/api/v1/leaderboard?period=all&limit=10&offset=0"
PROXY_CPUS, APP_CPUS = {0}, {1}  # --via-proxy --pin
TAG_TOP10 = TOP10 + "&tag=sql"  # a tag of the seeded challenges


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10k,100k,1M")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--paced-players", type=int, default=64, help="players whose tokens the paced submits use")
    p.add_argument("--attempts-per-player", type=int, default=2, help="data set: seed --attempts N*this")
    p.add_argument("--via-proxy", action="store_true", help="top 10 through nginx, idle and under submits")
    p.add_argument(
        "--pin",
        action="store_true",
        help="with --via-proxy: nginx and wrk on CPU 0; gunicorn, the workers and the submit flow on CPU 1",
    )
    args = p.parse_args()
    if args.quick:
        args.sizes, args.seconds, args.rate = "1000", 2, 20
    if args.via_proxy:
        return via_proxy(args)
    results: list[h.Result] = []
    with h.Harness("leaderboard") as bench:
        for users in h.sizes(args.sizes):
            size = f"{users:,} players"
            bench.dataset(users, users * args.attempts_per_player)
            bench.bench_tables()
            bench.redis_reset(zset_members=users)
            ids = bench.psql(
                "SELECT id FROM accounts_user WHERE username LIKE 'load%' ORDER BY random() LIMIT 1000"
            )
            paths = Path(tempfile.mkstemp(prefix="bench-paths-", suffix=".txt")[1])
            paths.write_text("".join(f"/api/v1/users/{uid}/progress\n" for uid in ids.split()))
            bench.start_web(ROOT_URLCONF=h.CEILINGS_URLCONF)
            shape = {"seconds": args.seconds, "threads": 2, "connections": 32}
            deep_path = f"/api/v1/leaderboard?period=all&limit=10&offset={users // 2}"
            status, _ = bench.get(TOP10)
            measured = ["/bench/redis-top10", *([TOP10, deep_path, TAG_TOP10] if status != 404 else [])]
            # Each gunicorn worker's first requests of a path (imports, connections, Lua script
            # loads) are start-up, not the steady state being compared.
            for path in ["/bench/json", *measured]:
                h.wrk(path, seconds=1)
            h.wrk("/", seconds=1, env={"BENCH_PATHS_FILE": str(paths)})
            ceiling, *pages = h.alternating(measured, **shape)
            results.append(h.wrk_result("leaderboard", f"Redis top-10 ceiling, {size}", ceiling))
            if status == 404:
                print(
                    f"[leaderboard] {TOP10} answers 404 today: top-10, deep page and under-load runs skipped"
                )
                for name in ("top 10", "deep page", "top 10 while submitting"):
                    results.append(
                        h.Result(
                            "leaderboard",
                            f"{name}, {size}",
                            target="skipped: endpoint 404",
                            extra={"skipped": "endpoint 404"},
                        )
                    )
            else:
                idle, deep, tag_idle = pages
                ratio = idle["rps"] / ceiling["rps"]
                tag_ratio = tag_idle["rps"] / ceiling["rps"]
                results.append(
                    h.wrk_result(
                        "leaderboard",
                        f"tag board top 10, {size}",
                        tag_idle,
                        target=">= 80% of Redis ceiling",
                        passed=tag_ratio >= 0.8,
                        extra={"ratio_to_ceiling": round(tag_ratio, 3)},
                    )
                )
                results.append(
                    h.wrk_result(
                        "leaderboard",
                        f"top 10, {size}",
                        idle,
                        target=">= 80% of Redis ceiling",
                        passed=ratio >= 0.8,
                        extra={"ratio_to_ceiling": round(ratio, 3)},
                    )
                )
                results.append(h.wrk_result("leaderboard", f"deep page, {size}", deep))
                results.append(under_submits(bench, idle, shape, args.rate, size, args.paced_players))
            progress = h.wrk("/", env={"BENCH_PATHS_FILE": str(paths)}, **shape)
            _, sample = bench.get(f"/api/v1/users/{ids.split()[0]}/progress")
            has_rank = isinstance(sample, dict) and "rank" in sample
            results.append(
                h.wrk_result(
                    "leaderboard",
                    f"progress{' + rank' if has_rank else ' (no rank field yet)'}, {size}",
                    progress,
                    bench.memory.peak_mb("web"),
                )
            )
            bench.stop_all()
            paths.unlink()
            direct = bench.direct(repeat=50 if args.quick else 300)
            for name, cost in direct["endpoints"].items():
                if cost.get("skipped"):
                    continue
                big = users >= 1_000_000
                targeted = any(word in name for word in ("progress", "friends", "around"))
                results.append(
                    latency_result(
                        f"in-process {name.replace('(+ rank)', rank_label(cost))}, {size}",
                        cost,
                        unit="server-side",
                        target="p99 < 5 ms at 1M" if targeted else "",
                        passed=(cost["p99_ms"] < 5) if (targeted and big) else None,
                        extra={"queries": cost["queries"], "has_rank": cost.get("has_rank")},
                    )
                )
            for kind in ("redis", "sql"):
                for name, cost in direct[kind].items():
                    results.append(latency_result(f"{kind}: {name}, {size}", cost, unit="call"))
    h.report(results, args.json)
    return 0


def via_proxy(args) -> int:
    """The anonymous top 10 through nginx (scripts/nginx), idle and while submits flow through it."""
    results: list[h.Result] = []
    with h.Harness("leaderboard-proxy") as bench:
        for users in h.sizes(args.sizes):
            size = f"{users:,} players, via nginx"
            bench.dataset(users, users * args.attempts_per_player)
            bench.redis_reset(zset_members=users)
            web = bench.start_web()
            proxy = bench.start_proxy()
            if args.pin:
                # The proxy on a core of its own, as on a machine of its own in front of the app: the
                # reads it answers share no CPU with the app (PostgreSQL and Redis still float).
                h.pin(web.pid, APP_CPUS)
                h.pin(proxy.pid, PROXY_CPUS)
                h.pin(os.getpid(), PROXY_CPUS)  # wrk, started from here, inherits it
            shape = {"seconds": args.seconds, "threads": 2, "connections": 32}
            for port in (h.PORT, h.PROXY_PORT):  # warm-up: imports, connections, the first copy
                h.wrk(TOP10, seconds=1, port=port)
            direct, idle = h.alternating([TOP10, TOP10], ports=[h.PORT, h.PROXY_PORT], **shape)
            results.append(
                h.wrk_result("leaderboard", f"top 10 straight from gunicorn, {users:,} players", direct)
            )
            results.append(
                h.wrk_result(
                    "leaderboard",
                    f"top 10 idle, {size}",
                    idle,
                    extra={
                        "ratio_to_gunicorn": round(idle["rps"] / direct["rps"], 3) if direct["rps"] else None
                    },
                )
            )
            # One-call submits (one request each, the score in the body): the cheapest way to submit.
            busy = under_submits(
                bench,
                idle,
                shape,
                args.rate,
                size,
                args.paced_players,
                port=h.PROXY_PORT,
                one_call=True,
                app_cpus=APP_CPUS if args.pin else None,
            )
            results.append(busy)
            print(
                f"[leaderboard] via nginx, {users:,} players: top 10 idle {idle['rps']:,.0f} req/s, "
                f"while submitting {busy.extra['submits_per_s']:.0f}/s {busy.throughput:,.0f} req/s: "
                f"{busy.extra['ratio_to_idle']:.0%} of idle (target >= 70 %)"
            )
            bench.stop_all()
    h.report(results, args.json)
    return 0


def latency_result(name: str, cost: dict, **fields) -> h.Result:
    """A row of in-process or raw-call latencies (bench/_direct.py's p50/p95/p99)."""
    return h.Result(
        "leaderboard", name, p50_ms=cost["p50_ms"], p95_ms=cost["p95_ms"], p99_ms=cost["p99_ms"], **fields
    )


def rank_label(cost: dict) -> str:
    return "+ rank" if cost.get("has_rank") else "(no rank field yet)"


def under_submits(
    bench: h.Harness,
    idle: dict,
    shape: dict,
    rate: float,
    size: str,
    players: int,
    port: int = h.PORT,
    *,
    one_call: bool = False,
    app_cpus: set[int] | None = None,
) -> h.Result:
    """Top 10 while players start+submit at `rate` pairs/s (or make `rate` one-call submits/s;
    bench/pacer.py) and two workers award; both to the web port, or both to `port` (the proxy's)."""
    tokens_file = bench.tokens_file(players)
    challenges = bench.self_reported_challenges()
    workers = bench.start_workers(2)
    if app_cpus:
        for worker in workers:
            h.pin(worker.pid, app_cpus)
    flow: dict = {}
    thread = threading.Thread(
        target=lambda: flow.update(
            h.paced_submits(
                tokens_file, challenges, rate, shape["seconds"] + 2, port, one_call=one_call, cpus=app_cpus
            )
        )
    )
    thread.start()
    time.sleep(1)  # the flow is under way before the top 10 is measured, and outlasts it
    busy = h.wrk(TOP10, port=port, **shape)
    thread.join()
    for worker in workers:
        bench.stop(worker)
    ratio = busy["rps"] / idle["rps"]
    achieved = flow["counters"]["submits"] / (flow["duration_us"] / 1e6)
    return h.wrk_result(
        "leaderboard",
        f"top 10 while {achieved:.0f} {'one-call ' if one_call else ''}submits/s, {size}",
        busy,
        target=">= 70% of idle top 10",
        passed=ratio >= 0.7 and achieved >= 0.95 * rate,
        extra={
            "ratio_to_idle": round(ratio, 3),
            "submits_per_s": round(achieved, 1),
            "submit_pair_latency_ms": flow["latency_ms"],
            "submits_late_or_failed": flow["counters"]["late"] + flow["counters"]["bad"],
        },
    )


if __name__ == "__main__":
    sys.exit(main())
