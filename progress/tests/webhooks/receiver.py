"""A webhook receiver for the tests: a real HTTP server process on loopback that we did not write the
signing side of. It verifies every request with `standardwebhooks.Webhook.verify`, records every
`webhook-id` it sees and processes each id once (deduplicating by it), and can be told to fail.

    python receiver.py PORT

Control (JSON): POST /_control {"secret": "whsec_...", "mode": "ok" | "fail" | "timeout" | "kill",
"sleep": seconds (timeout mode), "kill_pid": pid (kill mode)}; GET /_state answers
{"seen": [ids in arrival order], "processed": {id: body}, "rejected": n, "modes": {id: [modes]}}.
Modes: ok answers 200; fail answers 500 without processing; timeout sleeps `sleep` seconds before a
200 it never processes (the sender has given up); kill processes the request, SIGKILLs `kill_pid`
(the worker that sent it) before answering, and goes back to ok.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
state: dict = {"secret": None, "mode": "ok", "sleep": 1.0, "kill_pid": None}
seen: list[str] = []
processed: dict[str, dict] = {}
modes: dict[str, list[str]] = {}
rejected = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet
        pass

    def _answer(self, status: int, payload: object = None) -> None:
        body = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/_state":
            with lock:
                self._answer(
                    200, {"seen": seen, "processed": processed, "rejected": rejected, "modes": modes}
                )
        else:
            self._answer(404)

    def do_POST(self):
        global rejected
        body = self._body()
        if self.path == "/_control":
            with lock:
                state.update(json.loads(body))
            self._answer(200, {"ok": True})
            return
        try:
            payload = Webhook(state["secret"]).verify(body, dict(self.headers.items()))
        except (WebhookVerificationError, TypeError, ValueError) as exc:
            with lock:
                rejected += 1
            self._answer(400, {"error": str(exc)})
            return
        message_id = self.headers["webhook-id"]
        with lock:
            mode = state["mode"]
            seen.append(message_id)
            modes.setdefault(message_id, []).append(mode)
            if mode == "kill":
                state["mode"] = "ok"
        if mode == "fail":
            self._answer(500, {"error": "told to fail"})
        elif mode == "timeout":
            time.sleep(state["sleep"])
            self._answer(200)
        else:
            with lock:
                processed.setdefault(message_id, payload)  # once per id, however often it comes
            if mode == "kill":
                os.kill(int(state["kill_pid"]), signal.SIGKILL)
                time.sleep(0.5)  # the worker is gone before it could read an answer
            self._answer(200, {"ok": True})


if __name__ == "__main__":
    # A listen backlog for a worker's 32 parallel POSTs: socketserver's default of 5 reset some of them.
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
