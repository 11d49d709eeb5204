"""Start+submit pairs at a fixed rate through the services the API calls, in one process, no HTTP.

    python bench/_flow.py --rate 200 --seconds 15 --players 64 --challenges ID,ID

Run by bench/awards.py with the bench database in the environment. It offers the award pipeline a
steady flow at the target rate where the machine cannot drive that rate through gunicorn while the
workers run (bench/README.md): each pair is `challenges.services.attempt_start` and
`attempt_submit`, exactly what the two API views call, so the commit, the `post_save` receiver and
the award job's scheduling are the production ones. Open loop: pair i is due at t0 + i/rate; a pair
that starts more than 10 ms after it was due counts as late.

Prints one line `FLOWJSON {"pairs", "late", "duration_us", "pair_latency": {p50_ms, p95_ms, p99_ms}}`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillquest.settings")

import django

django.setup()

from accounts.models import User  # noqa: E402
from bench._harness import latency_ms  # noqa: E402
from challenges import services  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--players", type=int, default=64)
    p.add_argument("--challenges", required=True, help="comma-separated ids of self-reported challenges")
    args = p.parse_args()
    players = list(User.objects.filter(username__startswith="load").order_by("username")[: args.players])
    challenges = itertools.cycle(uuid.UUID(c) for c in args.challenges.split(","))
    who = itertools.cycle(players)
    total = int(args.rate * args.seconds)
    took: list[float] = []
    late = 0
    t0 = time.perf_counter()
    for i in range(total):
        due = t0 + i / args.rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        elif now - due > 0.010:
            late += 1
        started = time.perf_counter()
        user = next(who)
        attempt = services.attempt_start(user=user, challenge_id=next(challenges))
        services.attempt_submit(user=user, attempt_id=attempt.pk, score=(i * 37) % 101)
        took.append(time.perf_counter() - started)
    duration = time.perf_counter() - t0
    result = {"pairs": total, "late": late, "duration_us": int(duration * 1e6)}
    result["pair_latency"] = latency_ms(took)
    print("FLOWJSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
