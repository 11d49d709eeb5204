"""A webhook receiver for bench/webhooks.py: asyncio on one loopback port, one process.

    python bench/_receiver.py PORT [SECRET]

Answers every POST with 204 after checking its signature with `standardwebhooks` (when SECRET is
given; a bad one gets 400), and counts what it saw: GET /_count answers {"ok": n, "bad": n}. With
`--hang` it accepts connections and never answers (an endpoint that times out).
"""

from __future__ import annotations

import asyncio
import json
import sys

from standardwebhooks import Webhook, WebhookVerificationError

counts = {"ok": 0, "bad": 0}


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, webhook: Webhook | None) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if method == "GET" and path == "/_count":
            payload = json.dumps(counts).encode()
            status = "200 OK"
        else:
            payload = b""
            status = "204 No Content"
            if webhook is not None:
                try:
                    webhook.verify(body, headers)
                except WebhookVerificationError:
                    status = "400 Bad Request"
            counts["ok" if status.startswith("204") else "bad"] += 1
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


async def main() -> None:
    port = int(sys.argv[1])
    if "--hang" in sys.argv:
        server = await asyncio.start_server(hang, "127.0.0.1", port, backlog=1024)
    else:
        secret = next((arg for arg in sys.argv[2:] if arg.startswith("whsec_")), None)
        webhook = Webhook(secret) if secret else None
        server = await asyncio.start_server(
            lambda r, w: handle(r, w, webhook), "127.0.0.1", port, backlog=1024
        )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
