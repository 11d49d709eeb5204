"""webhooks: delivery throughput to a local receiver, and award throughput with an endpoint that is down.

    .venv/bin/python bench/webhooks.py [--quick] [--events 20000] [--users 10000] [--pending 20000]
                                       [--workers 1,2]

(1) N outbox events (inserted in SQL, undispatched) for one endpoint on a local receiver
(bench/_receiver.py: asyncio, verifies every signature with `standardwebhooks`), scheduled by the
Procfile worker line's start-up sweep and delivered by 1 and 2 worker processes: deliveries/s from the
first attempt to the last success; every event must arrive with a valid signature. (2) The awards
backlog of bench/awards.py drained by 2 workers four times: with no endpoint; with an endpoint
subscribed to every event type on the receiver ("up": the outbox rows the award batch writes, and
their deliveries sharing the machine with it); on a closed port (connections refused); and on a
receiver that accepts and never answers (every attempt times out). The endpoints are never disabled
(WEBHOOK_DISABLE_AFTER is set out of reach): the worst case. Awards/s as bench/awards.py measures it.
Targets: >= 500 deliveries/s with 2 workers; awards/s with the endpoint down >= 90 % of the rate
with it up (a failing receiver must not slow awards; the cost of webhooks themselves is the "up"
row against "no endpoint", printed as `ratio_to_no_endpoint`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h
from bench import awards

RECEIVER_PORT = int(os.environ.get("BENCH_RECEIVER_PORT", str(h.PORT + 3)))
CLOSED_PORT = int(os.environ.get("BENCH_CLOSED_PORT", str(h.PORT + 4)))
SECRET = "whsec_YmVuY2gtb25seS13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
ALL_TYPES = json.dumps(
    [
        "attempt.graded",
        "xp.awarded",
        "event.bonus",
        "quest.completed",
        "level.up",
        "badge.awarded",
        "xp.granted",
    ]
)
CLEAN_SQL = """
DELETE FROM progress_webhookattempt; DELETE FROM progress_webhookdelivery; DELETE FROM progress_outboxevent;
DELETE FROM progress_webhookendpoint;
"""
ENDPOINT_SQL = """
INSERT INTO progress_webhookendpoint (id, url, events, description, active, secret, consecutive_failures,
    disabled_reason, disabled_at, created_at, updated_at)
VALUES (gen_random_uuid(), '{url}', '{events}', 'bench', true, '{secret}', 0, '', NULL, now(), now())
"""
EVENTS_SQL = """
INSERT INTO progress_outboxevent (id, type, data, created_at, dispatched_at)
SELECT gen_random_uuid(), 'xp.awarded',
       jsonb_build_object('user_id', gen_random_uuid()::text, 'attempt_id', gen_random_uuid()::text,
                          'amount', g % 100, 'total_xp', g, 'event_id', NULL),
       clock_timestamp(), NULL
FROM generate_series(1, {count}) g
"""

# Workers may call the local receiver; a failing endpoint stays on whatever happens.
os.environ.update(WEBHOOK_ALLOW_PRIVATE_NETWORKS="true", WEBHOOK_DISABLE_AFTER="1000000000")


def receiver_count() -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{RECEIVER_PORT}/_count", timeout=5) as response:
        return json.loads(response.read())


def start_receiver(bench: h.Harness, *args: str) -> subprocess.Popen:
    proc = bench._spawn(
        "receiver", f"{h.PYTHON} bench/_receiver.py {RECEIVER_PORT} {' '.join(args)}", bench.env()
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the receiver exited; see {bench.logdir}/receiver.log")
        try:
            if "--hang" in args or receiver_count() is not None:
                time.sleep(0.3 if "--hang" in args else 0)
                return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


def sweep(bench: h.Harness) -> None:
    line, _ = bench.worker_parts()
    if line:
        subprocess.run(["bash", "-c", line], cwd=h.ROOT, env=bench.env(), check=True, capture_output=True)


def delivery_run(bench: h.Harness, events: int, workers: int, quick: bool) -> h.Result:
    bench.psql(CLEAN_SQL)
    bench.redis_reset()
    bench.psql(
        ENDPOINT_SQL.format(url=f"http://127.0.0.1:{RECEIVER_PORT}/hook", events=ALL_TYPES, secret=SECRET)
    )
    receiver = start_receiver(bench, SECRET)
    bench.psql(EVENTS_SQL.format(count=events))
    sweep(bench)
    bench.memory.reset("workers")
    procs = bench.start_workers(workers)
    deadline = time.monotonic() + max(120, events / 50)
    while bench.psql("SELECT count(*) FROM progress_webhookdelivery WHERE status = 'succeeded'") != str(
        events
    ):
        if time.monotonic() > deadline:
            left = bench.psql("SELECT status, count(*) FROM progress_webhookdelivery GROUP BY 1")
            raise RuntimeError(f"deliveries still unfinished: {left}")
        time.sleep(0.2)
    span, latency = bench.psql(
        "SELECT EXTRACT(EPOCH FROM (SELECT max(delivered_at) FROM progress_webhookdelivery)"
        " - (SELECT min(started_at) FROM progress_webhookattempt)),"
        " (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FROM progress_webhookattempt)"
    ).split("|")
    counted = receiver_count()
    for proc in procs:
        bench.stop(proc)
    bench.stop(receiver)
    rate = events / float(span) if float(span) > 0 else None
    return h.Result(
        "webhooks",
        f"deliveries, {workers} worker(s)",
        round(rate, 1) if rate else None,
        "deliveries/s",
        p50_ms=round(float(latency), 2) if latency else None,
        peak_rss_mb=sum(filter(None, (bench.memory.peak_mb(f"worker{i}") for i in range(workers)))) or None,
        target=">= 500/s with 2 workers" if workers == 2 else "",
        passed=(rate or 0) >= 500 if workers == 2 and not quick else None,
        errors=counted["bad"],
        extra={"events": events, "received": counted["ok"], "bad_signatures": counted["bad"]},
    )


def award_run(
    bench: h.Harness, args, run: int, name: str, endpoint_url: str | None
) -> tuple[float | None, dict]:
    bench.psql(CLEAN_SQL)
    bench.redis_reset()
    if endpoint_url:
        bench.psql(ENDPOINT_SQL.format(url=endpoint_url, events=ALL_TYPES, secret=SECRET))
    challenges = int(bench.psql("SELECT count(*) FROM challenges_challenge WHERE published"))
    tag = f"webhooks-{run}-{time.time():.0f}"
    first = 1 + int(time.time()) % 10**6 * 1000 + run * args.pending
    bench.psql(
        awards.PENDING_SQL.format(
            tag=tag, first=first, count=args.pending, users=args.users, challenges=challenges
        )
    )
    # As bench/awards.py: statistics that know each scenario's rows (autovacuum is off here), so the
    # later scenarios are not planned against the data set's empty tables.
    bench.psql("ANALYZE")
    sweep(bench)
    procs = bench.start_workers(2)
    awards.wait_drained(bench, timeout=max(120, args.pending / 20))
    span, n = bench.psql(
        "SELECT EXTRACT(EPOCH FROM max(awarded_at) - min(awarded_at)), count(*) "
        f"FROM challenges_attempt WHERE metadata->>'bench' = '{tag}'"
    ).split("|")
    outbox = bench.psql(
        "SELECT (SELECT count(*) FROM progress_outboxevent),"
        " (SELECT count(*) FROM progress_webhookattempt WHERE NOT succeeded)"
    ).split("|")
    for proc in procs:
        bench.stop(proc, timeout=15)
    # A backlog awarded in one batch (quick mode) has no span to divide by.
    rate = int(n) / float(span) if float(span) > 0.05 else None
    return rate, {"endpoint": name, "outbox_events": int(outbox[0]), "failed_attempts": int(outbox[1])}


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--pending", type=int, default=20_000)
    p.add_argument("--workers", default="1,2")
    args = p.parse_args()
    if args.quick:
        args.events, args.users, args.pending, args.workers = 1_000, 500, 1_500, "2"
    results: list[h.Result] = []
    with h.Harness("webhooks") as bench:
        bench.dataset(args.users, 0, name=f"{h.DB_PREFIX}awards_u{args.users}")
        bench.psql(awards.NO_EVENTS_OR_QUESTS_SQL)
        bench.psql(awards.WITHOUT_EVENT_SQL)
        for count in (int(x) for x in args.workers.split(",")):
            results.append(delivery_run(bench, args.events, count, args.quick))
        baseline, extra = award_run(bench, args, 0, "none", None)
        results.append(
            h.Result("webhooks", "awards, 2 workers, no endpoint", round(baseline, 1) if baseline else None,
                     "awards/s", extra=extra)
        )  # fmt: skip
        receiver = start_receiver(bench, SECRET)
        endpoints = [
            ("up", f"http://127.0.0.1:{RECEIVER_PORT}/hook", None),
            ("down: refused", f"http://127.0.0.1:{CLOSED_PORT}/hook", None),
            ("down: timing out", f"http://127.0.0.1:{RECEIVER_PORT}/hook", "--hang"),
        ]
        up = None
        for run, (name, url, mode) in enumerate(endpoints, start=1):
            if mode:
                bench.stop(receiver)
                receiver = start_receiver(bench, mode)
            rate, extra = award_run(bench, args, run, name, url)
            up = rate if name == "up" else up
            down = name.startswith("down")
            ratio = rate / up if down and rate and up else None
            results.append(
                h.Result(
                    "webhooks",
                    f"awards, 2 workers, endpoint {name}",
                    round(rate, 1) if rate else None,
                    "awards/s",
                    target=">= 90% of endpoint up" if down else "",
                    passed=ratio >= 0.9 if ratio and not args.quick else None,
                    extra={
                        **extra,
                        "ratio_to_endpoint_up": round(ratio, 3) if ratio else None,
                        "ratio_to_no_endpoint": round(rate / baseline, 3) if rate and baseline else None,
                    },
                )
            )
        bench.stop(receiver)
        bench.psql(CLEAN_SQL)
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
