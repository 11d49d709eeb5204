"""Open-loop start+submit load at a fixed rate: the paced phases of `awards` and `leaderboard`.

    .venv/bin/python bench/pacer.py --port 8170 --rate 200 --seconds 15 --tokens FILE --challenges ID,ID
                                    [--one-call]

With --one-call each submission is one request, `POST /api/v1/attempts` with the score in the body
(the one-call submit), instead of a start then a submit.

Why not wrk: wrk paces with `delay()` after it has reconnected, so a paced connection holds one of
gunicorn's sync workers idle for the whole delay (a sync worker blocks reading the request it has
just accepted). With 4 workers that capped the "paced" rate near 40-80 pairs/s and starved any
other load on the same server: an artifact of the load generator, not a property of the service.
Here each pair starts on schedule (pair i at t0 + i/rate, whether or not earlier pairs are done)
and opens its connection only when it has a request to send, as a real client does.

Prints one line `PACERJSON {...}` in the shape of the harness's wrk results: `counters` (starts,
submits, bad, late), `duration_us`, `requests`, `errors`, and `latency_ms` of whole pairs.
`late` counts pairs that could not start on time because `--max-in-flight` pairs were still open.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time

ATTEMPT_ID = re.compile(rb'"id":"([0-9a-f-]{36})"')


async def call(host: str, port: int, path: str, token: str, body: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    payload = body.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    raw = await reader.read()  # the server closes after the answer
    writer.close()
    return (int(raw[9:12]) if raw[:5] == b"HTTP/" else 0), raw


async def pair(args, token: str, challenge: str, stats: dict) -> None:
    started = time.perf_counter()
    try:
        if args.one_call:
            body = f'{{"challenge_id": "{challenge}", "score": 85}}'
            status, _ = await call(args.host, args.port, "/api/v1/attempts", token, body)
            stats["requests"] += 1
            if status != 201:
                stats["bad"] += 1
                return
            stats["starts"] += 1
            stats["submits"] += 1
            stats["latencies"].append(time.perf_counter() - started)
            return
        body = f'{{"challenge_id": "{challenge}"}}'
        status, raw = await call(args.host, args.port, "/api/v1/attempts", token, body)
        stats["requests"] += 1
        found = ATTEMPT_ID.search(raw)
        if status != 201 or not found:
            stats["bad"] += 1
            return
        stats["starts"] += 1
        path = f"/api/v1/attempts/{found.group(1).decode()}/submit"
        status, _ = await call(args.host, args.port, path, token, '{"score": 85}')
        stats["requests"] += 1
        if status != 200:
            stats["bad"] += 1
            return
        stats["submits"] += 1
        stats["latencies"].append(time.perf_counter() - started)
    except OSError as exc:
        stats["errors"][type(exc).__name__] = stats["errors"].get(type(exc).__name__, 0) + 1


async def run(args) -> dict:
    tokens = [line.split()[1] for line in open(args.tokens) if line.strip()]  # noqa: SIM115
    challenges = args.challenges.split(",")
    stats: dict = {"starts": 0, "submits": 0, "bad": 0, "late": 0, "requests": 0}
    stats.update(errors={}, latencies=[])
    in_flight: set[asyncio.Task] = set()
    interval = 1 / args.rate
    t0 = time.perf_counter()
    for i in itertools.count():
        due = t0 + i * interval
        if due - t0 >= args.seconds:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if len(in_flight) >= args.max_in_flight:
            stats["late"] += 1
            continue
        token, challenge = tokens[i % len(tokens)], challenges[i % len(challenges)]
        task = asyncio.create_task(pair(args, token, challenge, stats))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=30)
    duration = time.perf_counter() - t0
    samples = sorted(stats.pop("latencies"))

    def pct(p: float) -> float | None:
        if not samples:
            return None
        return round(samples[min(len(samples) - 1, int(p / 100 * len(samples)))] * 1000, 2)

    return {
        "counters": {key: stats[key] for key in ("starts", "submits", "bad", "late")},
        # From the first scheduled start to the last answer: pairs that queued past the schedule's
        # end count against the achieved rate, not for it.
        "duration_us": int(duration * 1e6),
        "schedule_us": int(args.seconds * 1e6),
        "requests": stats["requests"],
        "errors": stats["errors"],
        "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99)},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True, help="start+submit pairs per second")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--tokens", required=True, help="file of `user_id token` lines")
    p.add_argument("--challenges", required=True, help="comma-separated self-reported challenge ids")
    p.add_argument("--max-in-flight", type=int, default=512)
    p.add_argument("--one-call", action="store_true", help="one request per submission (score in the body)")
    print("PACERJSON " + json.dumps(asyncio.run(run(p.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
