"""compare_endpoints: in-process p50/p99 of the progress and xp-history endpoints, for any checkout.

    .venv/bin/python bench/compare_endpoints.py --code /path/to/checkout --database bench_u100000_a1000000

Runs the endpoints of the checkout at --code (its settings, its views) against an existing bench
database, through Django's test Client (full handler, no network): `/healthz` as the floor, the
xp-history and progress of `load0000001` (the player bench/ledger.py gives 1,000 entries) and the
progress of `load0050000`. 50 warm-up requests, then --repeat timed ones each. Use it for before/after
pairs of one database: run it for the old checkout and for this one, alternating.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", required=True, help="the checkout whose code answers")
    p.add_argument("--database", required=True)
    p.add_argument("--repeat", type=int, default=500)
    args = p.parse_args()
    sys.path.insert(0, args.code)
    os.environ.update(
        DEBUG="false", SECRET_KEY="bench-" + "x" * 50, LOG_LEVEL="ERROR", ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        DJANGO_SETTINGS_MODULE="skillquest.settings", SECURE_SSL_REDIRECT="false",
        THROTTLE_ANON="100000/second", THROTTLE_USER="100000/second",
    )  # fmt: skip
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User

    def player(name: str) -> str:
        return str(User.objects.filter(username=name).values_list("pk", flat=True).get())

    historian, other = player("load0000001"), player("load0050000")
    client = Client()
    for name, path in {
        "healthz": "/healthz",
        "xp-history, 1,000 entries": f"/api/v1/users/{historian}/xp-history",
        "progress, 1,000 entries": f"/api/v1/users/{historian}/progress",
        "progress, another player": f"/api/v1/users/{other}/progress",
    }.items():
        if client.get(path, HTTP_HOST="127.0.0.1").status_code != 200:
            print(f"{name:28s} not answered by this checkout")
            continue
        for _ in range(50):
            client.get(path, HTTP_HOST="127.0.0.1")
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(path, HTTP_HOST="127.0.0.1")
            samples.append(time.perf_counter() - started)
        samples.sort()
        p50, p99 = samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        print(f"{name:28s} p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
