"""What a message costs the server once its readers' phones answer as the browser does.

bench/chat_fanout.py measures the send alone: its clients receive and say nothing. A member's
phone answers every message (static/js/chat-socket.js and chat.js): the receipts that turn the
author's status to "delivered" and "read", and the tab bar's unread badge. This bench plays
that part for every receiving client, as the browser's code does today (READERS below), with
the conversation on screen or not, and reports the worker's CPU per message sent, the events
and requests it served per message, and the delivery latency. Prints JSON.

    .venv/bin/python bench/chat_readers.py [--clients 500] [--rate 20] [--seconds 30]
                                           [--screen on|off] [--kind care|professional]
                                           [--database URL]

Same server and setup as bench/chat_fanout.py (gunicorn -k gevent -w 1, signed-in clients in
conversations of 5).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from chat_fanout import (
    NS,
    ROOT,
    UA,
    free_port,
    prepare,
    start_server,
    stop,
    worker_cpu_seconds,
)

# What a receiving phone does, after the browser's code (delays in seconds, each a debounce:
# a later call restarts the wait), with the conversation open on screen ("on") or while on
# another page or hidden ("off"). On screen it says only "read" (which counts as delivered)
# and fetches no badge: the server's "unread_changed" brings the new total. Off screen it says
# "delivered", whose reply brings the total. Until 2026-11-30 a phone said "delivered" at once
# on screen too, then "read", and fetched /chat/unread after each (bench/HISTORY.md has the
# figures before and after).
READERS = {
    "on": {
        "delivered_at_once": False,  # chat-socket.js: only for a conversation not on screen
        "read_after": 0.3,  # chat.js: markRead()
        "badge_on_message": False,  # chat-socket.js: only for a conversation not on screen
        "badge_on_read": False,  # chat.js: no longer, the event carries the total
        "badge_on_unread_changed": False,  # chat-socket.js: only if the event has no total
    },
    "off": {
        "delivered_at_once": True,  # its reply brings the unread total for the badge
        "read_after": None,  # nobody is looking
        "badge_on_message": False,  # chat-socket.js: only if that reply has no total
        "badge_on_read": False,
        "badge_on_unread_changed": False,
    },
}
BADGE_AFTER = 0.25  # refreshBadge(): GET /chat/unread (one timer, whoever asks)


class Debounced:
    """Run `action` `delay` seconds after the last call (a browser's clearTimeout/setTimeout)."""

    def __init__(self, delay: float, action):
        self.delay, self.action, self.task = delay, action, None

    def __call__(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.task = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.delay)
        self.task = None
        await self.action()


async def run(url: str, members: list[tuple[int, int, str]], rate: float, seconds: float,
              cpu_seconds, screen: str) -> dict:
    import aiohttp
    import socketio

    reader = READERS[screen]

    # Per message sent: what the phones said and asked, and the receipts they were sent
    # (each one wakes a phone).
    counts = {"delivered": 0, "read": 0, "badge_requests": 0, "badge_errors": 0,
              "receipt_errors": 0, "receipts_received": 0}
    sent: dict[str, tuple[float, object]] = {}
    latencies: list[float] = []
    by_conversation: dict[int, list] = {}
    # Every phone is someone else: no cookie jar shared between them, each request carries its own.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200),
                                 cookie_jar=aiohttp.DummyCookieJar())
    semaphore = asyncio.Semaphore(50)

    async def connect(user_id: int, conversation_id: int, cookie: str) -> None:
        client = socketio.AsyncClient(reconnection=False)
        headers = {"Cookie": f"session={cookie}", "User-Agent": UA}
        last_seen = {"id": 0}

        async def badge() -> None:
            counts["badge_requests"] += 1
            async with http.get(f"{url}/chat/unread", allow_redirects=False,
                                headers={**headers, "Accept": "application/json"}) as response:
                if response.status != 200:  # a redirect to sign in is a failure too
                    counts["badge_errors"] += 1
                await response.read()

        async def read() -> None:
            counts["read"] += 1
            reply = await client.call("read", {"conversation_id": conversation_id,
                                               "message_id": last_seen["id"]},
                                      namespace=NS, timeout=30)
            if not (isinstance(reply, dict) and reply.get("ok")):
                counts["receipt_errors"] += 1
            if reader["badge_on_read"]:
                refresh_badge()

        def answered(reply) -> None:
            if not (isinstance(reply, dict) and reply.get("ok")):
                counts["receipt_errors"] += 1

        refresh_badge = Debounced(BADGE_AFTER, badge)
        mark_read = Debounced(reader["read_after"] or 0, read)

        @client.on("new_message", namespace=NS)
        async def on_message(data):
            entry = sent.get(data.get("client_id"))
            if entry is None or entry[1] is client:
                return
            latencies.append((time.perf_counter() - entry[0]) * 1000)
            last_seen["id"] = max(last_seen["id"], data["id"])
            if reader["delivered_at_once"]:
                counts["delivered"] += 1
                await client.emit("delivered", {"conversation_id": conversation_id,
                                                "message_id": data["id"]}, namespace=NS,
                                  callback=answered)
            if reader["badge_on_message"]:
                refresh_badge()
            if reader["read_after"] is not None:
                mark_read()

        @client.on("receipt", namespace=NS)
        async def on_receipt(data=None):
            counts["receipts_received"] += 1

        @client.on("unread_changed", namespace=NS)
        async def on_unread(data=None):
            if reader["badge_on_unread_changed"]:
                refresh_badge()

        async with semaphore:
            await client.connect(url, namespaces=[NS], transports=["websocket"],
                                 wait_timeout=30, headers=dict(headers))  # the library changes it
        by_conversation.setdefault(conversation_id, []).append(client)

    await asyncio.gather(*(connect(*m) for m in members))
    await asyncio.sleep(6)  # the worker freezes the new connections' state (gunicorn.conf.py)
    cpu_start = cpu_seconds()
    counter = 0
    run_id = os.urandom(4).hex()
    t_start = time.perf_counter()
    while time.perf_counter() < t_start + seconds:
        conversation_id = random.choice(list(by_conversation))
        sender = random.choice(by_conversation[conversation_id])
        counter += 1
        client_id = f"readers-{run_id}-{counter:08d}"
        sent[client_id] = (time.perf_counter(), sender)
        await sender.emit("send_message", {"conversation_id": conversation_id,
                                           "client_id": client_id, "body": f"Bench {counter}"},
                          namespace=NS)
        await asyncio.sleep(max(0.0, t_start + counter / rate - time.perf_counter()))
    await asyncio.sleep(3)  # the last messages' receipts and badges
    cpu = cpu_seconds() - cpu_start
    for group in by_conversation.values():
        await asyncio.gather(*(c.disconnect() for c in group), return_exceptions=True)
    await http.close()
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(len(latencies) * q))], 2)  # noqa: E731
    return {
        "messages_sent": counter,
        "worker_cpu_ms_per_message": round(cpu * 1000 / counter, 2),
        "worker_busy": round(cpu / (time.perf_counter() - t_start), 2),
        "per_message": {k: round(v / counter, 2) for k, v in counts.items()},
        "delivery_p50_ms": pick(0.5),
        "delivery_p99_ms": pick(0.99),
        "delivery_mean_ms": round(statistics.fmean(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument("--kind", choices=("professional", "care"), default="care")
    parser.add_argument("--screen", choices=tuple(READERS), default="on",
                        help="the readers have the conversation on screen, or are elsewhere")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="hs-bench-readers-"))
    atexit.register(shutil.rmtree, instance, True)
    database_url = args.database or f"sqlite:///{instance / 'bench.db'}"
    data = prepare(instance, database_url, args.clients, args.group, args.kind)
    port = free_port()
    url = f"http://localhost:{port}"
    env = {**os.environ, "HEALTHSPACE_INSTANCE": str(instance), "DATABASE_URL": database_url,
           "HEALTHSPACE_ENV": "test", "SOCKETIO_ASYNC_MODE": "gevent", "WEBAUTHN_ORIGIN": url,
           "RATELIMIT_ENABLED": "0", "BIND": f"localhost:{port}"}
    members = [(uid, cid, data["cookies"][uid])
               for cid, group in data["rooms"].items() for uid in group][: args.clients]
    server = start_server([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                           "wsgi:app"], env, f"{url}/healthz", instance / "app.log")
    try:
        figures = asyncio.run(run(url, members, args.rate, args.seconds,
                                  lambda: worker_cpu_seconds(server), args.screen))
    finally:
        stop(server)
    print(json.dumps({"server": "gunicorn -k gevent -w 1 -c gunicorn.conf.py",
                      "database": database_url.split(":")[0], "clients": len(members),
                      "group": args.group, "conversations": args.kind,
                      "offered_rate": args.rate, "seconds": args.seconds,
                      "screen": args.screen, "reader": READERS[args.screen], **figures}, indent=2))


if __name__ == "__main__":
    main()
