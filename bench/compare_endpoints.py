"""compare_endpoints: in-process p50/p99 of the progress and xp-history endpoints, for any checkout.

    .venv/bin/python bench/compare_endpoints.py --code /path/to/checkout --database bench_u100000_a1000000
    .venv/bin/python bench/compare_endpoints.py --code ... --database bench_u1000000_a2000000 --boards \
        --samples /tmp/after.jsonl

Runs the endpoints of the checkout at --code (its settings, its views) against an existing bench
database, through Django's test Client (full handler, no network): `/healthz` as the floor, the
xp-history and progress of `load0000001` (the player bench/ledger.py gives 1,000 entries) and the
progress of `load0050000`. With --boards, issue 14's boards instead: signed in (a JWT) as the
1,001st load player, who follows 500 others, their friends board, around me, around me on a tag
board, and the week's top 10 (no page reused from memory). 50 warm-up requests, then --repeat timed
ones each. Use it for before/after pairs of one database: run it for the old checkout and for this
one, alternating; --samples appends each run's raw times (ms) as a JSON line, and --pool FILE...
prints the percentiles of all the runs in each file together.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    at = [samples[min(len(samples) - 1, int(len(samples) * q))] for q in (0.5, 0.9, 0.99)]
    return "p50 {:6.2f} ms   p90 {:6.2f} ms   p99 {:6.2f} ms".format(*at)


def pool(files: list[str]) -> int:
    for name in files:
        runs: dict[str, list[float]] = {}
        with open(name) as lines:
            for line in lines:
                for endpoint, times in json.loads(line).items():
                    runs.setdefault(endpoint, []).extend(times)
        print(name)
        for endpoint, times in runs.items():
            print(f"  {endpoint:28s} n={len(times):5d}  {percentiles(times)}")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", help="the checkout whose code answers")
    p.add_argument("--database")
    p.add_argument("--repeat", type=int, default=500)
    p.add_argument("--boards", action="store_true", help="issue 14's boards of a signed-in player")
    p.add_argument("--samples", help="append this run's times to this JSON-lines file")
    p.add_argument("--pool", nargs="+", metavar="FILE", help="only print the pooled runs of each file")
    args = p.parse_args()
    if args.pool:
        return pool(args.pool)
    if not (args.code and args.database):
        p.error("--code and --database are required")
    sys.path.insert(0, args.code)
    os.environ.update(
        DEBUG="false", SECRET_KEY="bench-" + "x" * 50, LOG_LEVEL="ERROR", ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        DJANGO_SETTINGS_MODULE="skillquest.settings", SECURE_SSL_REDIRECT="false",
        THROTTLE_ANON="100000/second", THROTTLE_USER="100000/second", LEADERBOARD_CACHE_SECONDS="0",
    )  # fmt: skip
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User

    def player(name: str) -> str:
        return str(User.objects.filter(username=name).values_list("pk", flat=True).get())

    headers = {"HTTP_HOST": "127.0.0.1"}
    if args.boards:
        from rest_framework_simplejwt.tokens import AccessToken

        from bench._direct import _follow

        viewer = User.objects.filter(username__startswith="load").order_by("username")[1000]
        _follow(viewer, 500)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {AccessToken.for_user(viewer)}"
        paths = {
            "friends board, 500 followed": "/api/v1/leaderboard?board=friends&limit=10",
            "around me (k=5)": "/api/v1/leaderboard?around=me&k=5",
            "around me on a tag (k=5)": "/api/v1/leaderboard?around=me&k=5&tag=sql",
            "week's top 10": "/api/v1/leaderboard?period=week&limit=10",
        }
    else:
        historian, other = player("load0000001"), player("load0050000")
        paths = {
            "healthz": "/healthz",
            "xp-history, 1,000 entries": f"/api/v1/users/{historian}/xp-history",
            "progress, 1,000 entries": f"/api/v1/users/{historian}/progress",
            "progress, another player": f"/api/v1/users/{other}/progress",
        }
    client = Client()
    runs: dict[str, list[float]] = {}
    for name, path in paths.items():
        if client.get(path, **headers).status_code != 200:
            print(f"{name:28s} not answered by this checkout")
            continue
        for _ in range(50):
            client.get(path, **headers)
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(path, **headers)
            samples.append((time.perf_counter() - started) * 1000)
        runs[name] = samples
        print(f"{name:28s} {percentiles(samples)}")
    if args.samples:
        with open(args.samples, "a") as out:
            out.write(json.dumps(runs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
