"""award_job: the CPU and wall time of one award job for a small batch, for any checkout.

    .venv/bin/python bench/award_job.py [--code /path/to/checkout] [--batch 10] [--jobs 40]

At 200 submissions/s the award job's coalescing window makes jobs of ~10 awards, ~20 a second, so a
job's fixed cost (its claims, transactions, statements compiled, the boards' write) is most of the
workers' CPU (bench/README.md, issue 15). This runs the job in-process (`JOBS_IN_PROCESS`, no RQ),
`--jobs` times after 5 warm-up jobs, each on `--batch` fresh graded attempts of random players, and
prints the median wall and CPU (`time.process_time`) per job, and the CPU of three of its parts timed
inside it: the boards' write (`record_awards`), the daily quests (`quests_pay`) and the badges
(`badges_evaluate`). The data set `bench_jobcost` (10k players, 20k attempts) is made once by the
harness; the Redis boards go to `BENCH_REDIS_URL`.
For before/after pairs, run it for each checkout, alternating.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATABASE = "bench_jobcost"
HERE = Path(__file__).resolve().parent


def measure(code: str, batch: int, jobs: int) -> None:
    sys.path.insert(0, code)
    os.environ.update(
        DEBUG="false", SECRET_KEY="bench-" + "x" * 50, LOG_LEVEL="ERROR", ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        DJANGO_SETTINGS_MODULE="skillquest.settings", JOBS_IN_PROCESS="true",
    )  # fmt: skip
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import User
    from challenges.models import Attempt, Challenge
    from progress import jobs as job_module
    from progress.awards import services as award_services
    from progress.jobs import award_xp_and_badges

    # Parts of each job timed on their own (CPU): the boards' write (once a batch, after its commit),
    # the daily quests and the badges (inside the batch's transaction).
    parts: dict[str, list[float]] = {"boards' write": [], "quests": [], "badges": []}
    per_job: dict[str, list[float]] = {name: [] for name in parts}

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name].append((time.process_time() - started) * 1000)

        return wrapper

    job_module.record_awards = timed("boards' write", job_module.record_awards)
    award_services.quests_pay = timed("quests", award_services.quests_pay)
    award_services.badges_evaluate = timed("badges", award_services.badges_evaluate)

    players = list(User.objects.filter(username__startswith="load").values_list("pk", flat=True)[:5000])
    challenges = list(Challenge.objects.filter(published=True).values_list("pk", flat=True))
    rng = random.Random(1)
    wall, cpu = [], []
    for job in range(jobs + 5):
        made = Attempt.objects.bulk_create(
            Attempt(
                user_id=rng.choice(players),
                challenge_id=rng.choice(challenges),
                status=Attempt.Status.PASSED,
                score=rng.randint(50, 100),
                submitted_at=timezone.now(),
            )
            for _ in range(batch)
        )
        for calls in parts.values():
            calls.clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        awarded = award_xp_and_badges(str(made[0].pk))["awarded"]
        if job >= 5:
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            for name, calls in parts.items():
                per_job[name].append(sum(calls))
        if awarded != batch:
            raise SystemExit(f"awarded {awarded} of {batch}")
    print(
        f"{code}: job of {batch} awards, {jobs} jobs: wall p50 {statistics.median(wall):.1f} ms, "
        f"CPU p50 {statistics.median(cpu):.1f} ms, CPU mean {statistics.mean(cpu):.1f} ms; of which CPU p50 "
        + ", ".join(f"{name} {statistics.median(times):.1f} ms" for name, times in per_job.items())
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", default=str(HERE.parent), help="the checkout whose award job runs")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--jobs", type=int, default=40)
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        measure(args.code, args.batch, args.jobs)
        return 0
    sys.path.insert(0, str(HERE.parent))
    from bench._harness import Harness

    harness = Harness("award_job")
    harness.dataset(10_000, 20_000, name=DATABASE)
    # Autovacuum may be off (it is on the bench machine): plan the claim against real statistics.
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DATABASE]
    subprocess.run([*psql, "-qc", "ANALYZE"], check=True)
    command = [sys.executable, __file__, "--measure", "--code", args.code]
    return subprocess.call([*command, "--batch", str(args.batch), "--jobs", str(args.jobs)])


if __name__ == "__main__":
    sys.exit(main())
