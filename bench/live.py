"""live: the WebSocket push (the Procfile's `ws:` process) under load, with the `websockets` client.

    .venv/bin/python bench/live.py [--quick] [--sockets 500] [--rate 200] [--seconds 20] [--idle 2000]
                                   [--idle-only] [--idle-hold 2]

Three measurements, each with its target (issue 15):
- submit -> message: one-call submits (`POST /api/v1/attempts` with a score) paced at --rate per
  second over HTTP, while --sockets players each hold a socket; the time from sending a submit to its
  player's socket receiving `xp_awarded`. p99 < 250 ms. The award job's coalescing window
  (AWARD_COALESCE_SECONDS, 100 ms) is part of it and is printed beside it.
- idle sockets: --idle sockets held by one `ws` process; its RSS growth per socket. < 50 KB.
- HTTP submit with and without: the same paced submits with no `ws` process and no sockets, then
  while the pushes flow; reported, no target here. Issue 15's "HTTP figures unchanged (bench submit
  before and after)" is bench/submit.py's last row: the one-call submit with the ws process and 500
  sockets against without it. This row adds what the pushes themselves take from two shared cores
  (daphne's work, the generator's frames), which raises the submit's tail here.

Web (gunicorn, the Procfile's `web:`), two RQ workers (`worker:`) and `ws:` (daphne) run on this
machine with the load generator: the figures include the generator's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _harness as h

# The award job's window as the workers get it: the harness passes this environment on to them, so
# an AWARD_COALESCE_SECONDS set here applies there; else the settings' default (100 ms).
COALESCE_SECONDS = float(os.environ.get("AWARD_COALESCE_SECONDS", "0.1"))


def _post(path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{h.PORT}{path}",
        method="POST",
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _submit(path: str, token: str, body: dict) -> int:
    """One POST over a raw socket; its HTTP status. urllib cost the generator ~0.5 ms of CPU a request
    (a tenth of a core at 200/s, taken from the server it measures), and its close came whenever its
    thread next got the GIL, while gunicorn's sync worker waits for the client's close after each
    answer (`close_graceful`). This reads to the server's FIN and closes at once."""
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{h.PORT}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", h.PORT), timeout=30) as conn:
        conn.sendall(head.encode() + payload)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer[9:12])


def _tickets(tokens: list[tuple[str, str]]) -> list[str]:
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda pair: _post("/api/v1/live/ticket", pair[1])["ticket"], tokens))


async def _open(tickets: list[str]) -> list:
    url = f"ws://127.0.0.1:{h.WS_PORT}/ws/live/?ticket="
    sockets = []
    for start in range(0, len(tickets), 100):  # in waves: a burst of thousands of handshakes is not the test
        sockets += await asyncio.gather(
            *(websockets.connect(url + ticket) for ticket in tickets[start : start + 100])
        )
    return sockets


@contextlib.contextmanager
def sockets_held(tokens: list[tuple[str, str]]) -> Iterator[int]:
    """Each of `tokens`' players holds a socket on the ws process (on an event loop in a thread of
    its own, which answers the server's pings) until the block ends; yields how many are open."""
    tickets = _tickets(tokens)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sockets = asyncio.run_coroutine_threadsafe(_open(tickets), loop).result(timeout=120)
    try:
        yield len(sockets)
    finally:
        asyncio.run_coroutine_threadsafe(_close_all(sockets), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


async def _close_all(sockets: list) -> None:
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


class Submits:
    """Paced one-call submits from a thread pool; per player, when the last one was sent."""

    def __init__(self, challenges: list[str]) -> None:
        self.challenges = challenges
        self.sent_at: dict[str, float] = {}
        self.http_s: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()

    def one(self, user_id: str, token: str, index: int) -> None:
        body = {"challenge_id": self.challenges[index % len(self.challenges)], "score": 100}
        started = time.perf_counter()
        with self.lock:
            self.sent_at[user_id] = started
        try:
            status = _submit("/api/v1/attempts", token, body)
        except (OSError, ValueError):
            status = 0
        if status != 201:
            self.errors += 1
            return
        with self.lock:
            self.http_s.append(time.perf_counter() - started)

    def run(self, players: list[tuple[str, str]], rate: float, seconds: float) -> None:
        """Open loop: a submit every 1/rate s, players in turn (each has at most one award in flight)."""
        count = int(rate * seconds)
        start = time.perf_counter()
        with ThreadPoolExecutor(64) as pool:
            for index in range(count):
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                user_id, token = players[index % len(players)]
                pool.submit(self.one, user_id, token, index)


async def _listen(socket, user_id: str, submits: Submits, latencies: list[float]) -> None:
    async for raw in socket:
        message = json.loads(raw)
        if message["type"] == "xp_awarded":
            received = time.perf_counter()
            with submits.lock:
                sent = submits.sent_at.pop(user_id, None)
            if sent is not None:
                latencies.append(received - sent)


async def _pushed_while_submitting(
    players, tickets, challenges, rate, seconds
) -> tuple[Submits, list[float]]:
    sockets = await _open(tickets)
    submits, latencies = Submits(challenges), []
    listeners = [
        asyncio.create_task(_listen(socket, user_id, submits, latencies))
        for socket, (user_id, _) in zip(sockets, players, strict=True)
    ]
    await asyncio.to_thread(submits.run, players, rate, seconds)
    await asyncio.sleep(3)  # the last awards' messages
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return submits, latencies


async def _idle(bench: h.Harness, ws_pid: int, tickets: list[str], hold: float) -> tuple[float, float, int]:
    """(RSS MB before, RSS MB while holding the sockets, sockets held)."""
    before = h._tree_rss(ws_pid)
    sockets = await _open(tickets)
    # Let the process settle (buffers, the channel layer's receive loop); a longer hold spans more of
    # the layer's 5 s BZPOPMIN cycles, where a consumer lost to a read timeout would show.
    await asyncio.sleep(hold)
    held = sum(1 for socket in sockets if socket.state.name == "OPEN")
    during = h._tree_rss(ws_pid)
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    return before / 2**20, during / 2**20, held


def _idle_result(bench: h.Harness, tokens: list[tuple[str, str]], idle: int, hold: float) -> h.Result:
    """RSS per socket of `idle` sockets held by a fresh ws process (stopped afterwards)."""
    ws = bench.start_ws()
    rss_before, rss_during, held = asyncio.run(_idle(bench, ws.pid, _tickets(tokens[:idle]), hold))
    bench.stop(ws)
    per_socket_kb = (rss_during - rss_before) * 1024 / held if held else None
    return h.Result(
        "live", f"idle sockets held by one ws process ({held} of {idle})",
        round(per_socket_kb, 1) if per_socket_kb is not None else None, "KB RSS/socket",
        peak_rss_mb=round(rss_during, 1), target="< 50 KB per socket",
        passed=per_socket_kb is not None and per_socket_kb < 50 and held == idle,
        errors=idle - held, extra={"ws_rss_mb_before": round(rss_before, 1)},
    )  # fmt: skip


def _pool(files: list[str]) -> int:
    """One run's p99 is its 40th-slowest message of 4,000: pooling runs steadies the estimate."""
    for name in files:
        with open(name) as lines:
            runs = [json.loads(line) for line in lines if line.strip()]
        times = sorted(ms / 1000 for run in runs for ms in run)
        at = h.latency_ms(times)
        print(f"{name}: {len(runs)} runs, {len(times)} messages: p50 {at['p50_ms']} ms, "
              f"p95 {at['p95_ms']} ms, p99 {at['p99_ms']} ms")  # fmt: skip
    return 0


def main() -> int:
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--sockets", type=int, default=500)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--idle-only", action="store_true", help="only the idle sockets' RSS (no submits)")
    p.add_argument("--idle-hold", type=float, default=2, help="seconds the idle sockets are held")
    p.add_argument("--samples", help="append this run's submit -> message times (ms) as a JSON line")
    p.add_argument("--pool", nargs="+", metavar="FILE", help="print these files' runs pooled")
    args = p.parse_args()
    if args.pool:
        return _pool(args.pool)
    if args.quick:
        args.sockets, args.rate, args.seconds, args.idle = 20, 20, 3, 50
    players_needed = max(args.sockets, args.idle)
    results: list[h.Result] = []
    with h.Harness("live") as bench:
        # Fresh each run: a run leaves ~16 attempts per player of the day, and a player's day and
        # entries are what an award reads (quests, windowed boards), so reusing the data set made each
        # run slower than the last (PostgreSQL 0.25 -> 0.40 of a core after a dozen runs).
        bench.dataset(players_needed, 0, name=f"{h.DB_PREFIX}live_u{players_needed}", fresh=True)
        bench.redis_reset()
        tokens = bench.tokens(players_needed)
        challenges = bench.self_reported_challenges().split(",")
        players = tokens[: args.sockets]
        bench.start_web(workers=4)
        if args.idle_only:
            results.append(_idle_result(bench, tokens, args.idle, args.idle_hold))
            h.report(results, args.json)
            return 0
        bench.start_workers(2)

        # HTTP submits without any socket or ws process: the "before" (after a warm-up of every worker).
        Submits(challenges).run(players, args.rate, min(2.0, args.seconds))
        quiet = Submits(challenges)
        quiet.run(players, args.rate, args.seconds)
        time.sleep(2)

        ws = bench.start_ws()
        submits, latencies = asyncio.run(
            _pushed_while_submitting(players, _tickets(players), challenges, args.rate, args.seconds)
        )
        lost = int(args.rate * args.seconds) - len(latencies) - submits.errors
        pushed = h.Result(
            "live", f"submit -> xp_awarded ({args.sockets} sockets, {args.rate:g}/s)",
            round(len(latencies) / args.seconds, 1), "msgs/s", **h.latency_ms(latencies),
            target="p99 < 250 ms", errors=submits.errors + max(lost, 0),
        )  # fmt: skip
        pushed.passed = pushed.p99_ms is not None and pushed.p99_ms < 250 and pushed.errors == 0
        pushed.extra = {"coalescing_window_ms": COALESCE_SECONDS * 1000, "messages": len(latencies)}
        if args.samples:
            with open(args.samples, "a") as out:
                out.write(json.dumps([round(seconds * 1000, 2) for seconds in latencies]) + "\n")
        results.append(pushed)

        http = {}
        for name, run in (("without ws", quiet), ("with ws + sockets", submits)):
            http[name] = h.Result("live", f"HTTP submit, {name}", round(len(run.http_s) / args.seconds, 1),
                                  "req/s", **h.latency_ms(run.http_s), errors=run.errors)  # fmt: skip
        before, after = http["without ws"], http["with ws + sockets"]
        after.target = "reported (the target is bench/submit.py's)"
        results += [before, after]

        # A fresh ws process: Python keeps the high-water mark of the sockets above.
        bench.stop(ws)
        results.append(_idle_result(bench, tokens, args.idle, args.idle_hold))
    if latencies:
        median_ms = statistics.median(latencies) * 1000
        print(f"\nsubmit -> message: median {median_ms:.1f} ms over {len(latencies)}; the award job waits"
              f" up to {COALESCE_SECONDS * 1000:.0f} ms of it (AWARD_COALESCE_SECONDS)")  # fmt: skip
    h.report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
