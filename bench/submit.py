"""submit: start + submit and the one-call submit under concurrency (JWT auth), against the ceilings.

    .venv/bin/python bench/submit.py [--quick] [--users 10000] [--seconds 15]

Target: a submission >= 50 % of the bare PK-UPDATE view's requests/s. The two-step pair is printed
two ways: completed pairs/s (the strict reading: a pair is two requests) and HTTP requests/s (each
start and each submit against one request of the ceiling). The one-call submit (`POST /attempts` with
the score in the body) is one request per submission, so its two readings are one: requests/s.
Then what each step of the one-call submit costs the web process, in-process (bench/_submit_steps.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

CEILINGS = [
    ("plain JSON view", "/bench/json"),
    ("DRF APIView", "/bench/drf"),
    ("PK SELECT view", "/bench/pk-select"),
    ("PK UPDATE view", "/bench/pk-update"),
    ("Redis top-10 view", "/bench/redis-top10"),
]


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument(
        "--ws-sockets", type=int, default=500,
        help="then the one-call submit again with the ws process holding this many sockets (0: not)",
    )  # fmt: skip
    args = p.parse_args()
    if args.quick:
        args.users, args.seconds, args.ws_sockets = 1_000, 3, min(args.ws_sockets, 20)
    results: list[h.Result] = []
    with h.Harness("submit") as bench:
        bench.dataset(args.users, 0, name=f"{h.DB_PREFIX}submit_u{args.users}")
        bench.bench_tables()
        bench.redis_reset(zset_members=args.users)
        tokens_file = bench.tokens_file(min(args.connections, args.users))
        challenges = bench.self_reported_challenges()
        bench.start_web(ROOT_URLCONF=h.CEILINGS_URLCONF)
        # Same wrk shape for every URL in this run (threads = connections, see lua/submit.lua).
        shape = {"threads": args.connections, "connections": args.connections, "seconds": args.seconds}
        h.wrk("/bench/json", **{**shape, "seconds": 1})  # warm every gunicorn worker
        ceiling = {}
        for name, path in CEILINGS:
            bench.memory.reset("web")
            data = h.wrk(path, **shape)
            ceiling[path] = data["rps"]
            results.append(h.wrk_result("submit", name, data, bench.memory.peak_mb("web"), unit="req/s"))
        bench.memory.reset("web")
        data = h.wrk(
            "/api/v1/attempts",
            script="submit.lua",
            env={"BENCH_TOKENS_FILE": str(tokens_file), "BENCH_CHALLENGES": challenges},
            **shape,
        )
        seconds = data["duration_us"] / 1e6
        pairs = data["counters"]["submits"] / seconds
        update = ceiling["/bench/pk-update"]
        # Two readings of one run: completed pairs, and HTTP requests (each start and each submit
        # against one request of the ceiling).
        for name, rate, unit in [("start+submit (JWT)", pairs, "pairs/s"),
                                 ("start+submit (JWT), per request", data["rps"], "req/s")]:  # fmt: skip
            row = h.wrk_result(
                "submit", name, data, bench.memory.peak_mb("web"), unit=unit,
                target=f">= 50% of PK UPDATE view ({unit})",
                passed=rate >= 0.5 * update and data["counters"]["bad"] == 0,
            )  # fmt: skip
            row.throughput = round(rate, 1)
            row.extra = {
                "http_rps": round(data["rps"], 1),
                **{
                    f"ratio_to_{p.strip('/').replace('/', '_').replace('-', '_')}": round(rate / v, 3)
                    for p, v in ceiling.items()
                    if v
                },
            }
            results.append(row)
        two_step = results[-2]
        # The one-call submit right after, same shape: one request starts and grades.
        bench.memory.reset("web")
        one_call = h.wrk(
            "/api/v1/attempts",
            script="submit_one_call.lua",
            env={"BENCH_TOKENS_FILE": str(tokens_file), "BENCH_CHALLENGES": challenges},
            **shape,
        )
        one_call_rate = one_call["counters"]["submits"] / (one_call["duration_us"] / 1e6)
        row = h.wrk_result(
            "submit", "one-call submit (JWT)", one_call, bench.memory.peak_mb("web"), unit="req/s",
            target=">= 50% of PK UPDATE view (req/s)",
            passed=one_call_rate >= 0.5 * update and one_call["counters"]["bad"] == 0,
        )  # fmt: skip
        row.throughput = round(one_call_rate, 1)
        row.extra = {
            "http_rps": round(one_call["rps"], 1),
            "submissions_ratio_to_start_submit_pairs": round(one_call_rate / pairs, 3) if pairs else None,
            **{
                f"ratio_to_{p.strip('/').replace('/', '_').replace('-', '_')}": round(one_call_rate / v, 3)
                for p, v in ceiling.items()
                if v
            },
        }
        results.append(row)
        if args.ws_sockets:
            results.append(_with_ws(bench, args.ws_sockets, shape, tokens_file, challenges, one_call_rate))
        steps = _steps(bench, challenges, repeat=30 if args.quick else 300, rounds=1 if args.quick else 9)
        queued = bench.redis().llen("rq:queue:default")
        two_step.extra["award_jobs_queued"] = queued
    for r in results:
        if (
            r.scenario == "submit"
            and r.unit == "req/s"
            and r.name in {p[0] for p in CEILINGS}
            and r.throughput
        ):
            r.extra["submit_pairs_ratio"] = round(pairs / r.throughput, 3)
            r.extra["one_call_ratio"] = round(one_call_rate / r.throughput, 3)
    print(
        f"\nstart+submit: {pairs:,.1f} pairs/s ({data['rps']:,.1f} HTTP req/s); "
        f"one-call submit: {one_call_rate:,.1f} submissions/s (= HTTP req/s); ratio to each ceiling:"
    )
    for name, path in CEILINGS:
        if ceiling[path]:
            print(
                f"  {name:<20} {ceiling[path]:>9,.1f} req/s   pairs/ceiling = {pairs / ceiling[path]:.2f}"
                f"   two-step requests/ceiling = {data['rps'] / ceiling[path]:.2f}"
                f"   one-call requests/ceiling = {one_call_rate / ceiling[path]:.2f}"
            )
    if pairs:
        print(f"  one-call submissions per start+submit pair: {one_call_rate / pairs:.2f}")
    print(f"  award jobs left queued (no worker in this scenario): {queued}")
    print("\nWhat the one-call submit's steps cost the web process (CPU us per call, _submit_steps.py):")
    for name, us in steps["us_cpu"].items():
        print(f"  {name:<62} {us:>8,.1f}")
        results.append(h.Result("submit", f"cpu: {name}", us, "us CPU/call"))
    print("  each step inside the whole request (the request's CPU with it taken out, subtracted):")
    for name, us in steps["in_request_us_cpu"].items():
        print(f"    {name:<60} {us:>8,.1f}")
        results.append(h.Result("submit", f"cpu in the request: {name}", us, "us CPU/call"))
    h.report(results, args.json)
    return 0


def _steps(bench, challenges: str, *, repeat: int, rounds: int) -> dict:
    """bench/_submit_steps.py on this run's database and Redis: CPU microseconds per step."""
    env = bench.env(
        ROOT_URLCONF=h.CEILINGS_URLCONF, BENCH_CHALLENGES=challenges, ALLOWED_HOSTS="127.0.0.1,testserver"
    )
    proc = subprocess.run(
        [h.PYTHON, str(h.BENCH / "_submit_steps.py"), "--repeat", str(repeat), "--rounds", str(rounds)],
        cwd=h.ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith("STEPSJSON "):
            return json.loads(line[10:])
    raise RuntimeError(f"bench/_submit_steps.py failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def _with_ws(bench, sockets: int, shape: dict, tokens_file, challenges: str, without: float) -> h.Result:
    """Issue 15's "HTTP figures unchanged": the one-call submit again, the same way, with the
    Procfile's `ws:` process running and `sockets` players holding a socket on it. No worker runs
    here, so nothing is pushed: this is what the ws process itself costs gunicorn's paths (what the
    pushes cost the machine is bench/live.py's)."""
    from bench.live import sockets_held

    ws = bench.start_ws()
    try:
        with sockets_held(bench.tokens(sockets)) as held:
            bench.memory.reset("web")
            data = h.wrk(
                "/api/v1/attempts",
                script="submit_one_call.lua",
                env={"BENCH_TOKENS_FILE": str(tokens_file), "BENCH_CHALLENGES": challenges},
                **shape,
            )
    finally:
        bench.stop(ws)
    rate = data["counters"]["submits"] / (data["duration_us"] / 1e6)
    row = h.wrk_result(
        "submit", f"one-call submit (JWT), ws process + {held} sockets", data, bench.memory.peak_mb("web"),
        unit="req/s", target="within 10 % of without the ws process",
        passed=rate >= 0.9 * without and held == sockets and data["counters"]["bad"] == 0,
    )  # fmt: skip
    row.throughput = round(rate, 1)
    row.extra = {"ratio_to_without_ws": round(rate / without, 3) if without else None, "sockets": held}
    print(f"\none-call submit with the ws process and {held} sockets: {rate:,.1f} req/s = "
          f"{rate / without:.2f} of without")  # fmt: skip
    return row


if __name__ == "__main__":
    sys.exit(main())
