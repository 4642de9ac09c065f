"""What one socket event costs the app itself, in-process: no network, no other clients.

bench/chat_fanout.py and bench/chat_readers.py measure whole servers under load, and on this
shared virtual machine their figures move by ±20–30% from one run to the next. This bench times
the handlers alone, through Flask-SocketIO's test client, so that a change to an event's code
can be compared with the code before it in the same hour (run both, alternately). Prints JSON:
microseconds per event, median of the repeats.

    .venv/bin/python bench/chat_events.py [--events 1500] [--repeats 3]
                                          [--kind care|professional] [--database URL]

A conversation of 5 with every member connected (so no push is sent); the sender is a relative
in a care conversation (policy asks her grant, the message writes a line of the patient's access
history), a professional otherwise. The collector is off while timing; its cost is the fan-out
bench's business. "delivered" and "read" each move the sender's marks by one message of another
member's, as a phone's do.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from chat_fanout import NS, UA, prepare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kind", choices=("care", "professional"), default="care")
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="hs-bench-events-"))
    try:
        print(json.dumps(run(instance, args), indent=1))
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def run(instance: Path, args) -> dict:
    os.environ.setdefault("HEALTHSPACE_ENV", "test")
    os.environ["RATELIMIT_ENABLED"] = "0"
    url = args.database or f"sqlite:///{instance / 'bench.db'}"
    data = prepare(instance, url, 5, 5, args.kind)

    from webapp import create_app
    from webapp.extensions import socketio

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance),
                      "TESTING": True})
    conversation, members = next(iter(data["rooms"].items()))
    sender = members[1]  # care: the first relative; professional: a colleague

    def connected(user_id: int):
        http = app.test_client()
        http.environ_base["HTTP_USER_AGENT"] = UA
        http.set_cookie("session", data["cookies"][user_id])
        client = socketio.test_client(app, namespace=NS, flask_test_client=http)
        if not client.is_connected(NS):
            raise SystemExit(f"user {user_id} could not connect")
        return client

    others = [connected(u) for u in members if u != sender]
    me = connected(sender)

    def emit(client, name: str, payload: dict) -> dict:
        ack = client.emit(name, {"conversation_id": conversation, **payload}, namespace=NS,
                          callback=True)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise SystemExit(f"{name} failed: {ack}")
        return ack

    def send(client=me) -> int:
        return emit(client, "send_message", {"body": "On se voit demain à 10 h ?",
                                             "client_id": str(uuid.uuid4())})["id"]

    def timed(*events, count: int) -> list[float]:
        """Microseconds per call of each event(i), i = 0 … count-1, called in turn (the first,
        then the second, for each i), the collector off."""
        spent = [0.0] * len(events)
        gc.collect()
        gc.disable()
        try:
            for i in range(count):
                for k, event in enumerate(events):
                    started = time.perf_counter()
                    event(i)
                    spent[k] += time.perf_counter() - started
                if i % 200 == 0:
                    for client in [*others, me]:
                        client.get_received(NS)  # what they received: dropped
        finally:
            gc.enable()
            for client in [*others, me]:
                client.get_received(NS)
        return [total / count * 1e6 for total in spent]

    n = args.events
    timings: dict[str, list[float]] = {"send_message": [], "typing": [], "delivered": [],
                                       "read": []}
    send()
    for _ in range(args.repeats):
        timings["send_message"] += timed(lambda i: send(), count=n)
        timings["typing"] += timed(lambda i: emit(me, "typing", {}), count=n)
        # Marks that move, as a phone's do: another member's messages, each "delivered" then
        # "read" (each moves a mark by one message, writes, sends its receipt; the reader's
        # unread total stays at one message at most).
        incoming = [send(others[0]) for _ in range(n)]
        delivered, read = timed(
            lambda i, ids=incoming: emit(me, "delivered", {"message_id": ids[i]}),
            lambda i, ids=incoming: emit(me, "read", {"message_id": ids[i]}),
            count=n,
        )
        timings["delivered"].append(delivered)
        timings["read"].append(read)
    return {
        "database": url.split(":")[0],
        "conversations": args.kind,
        "events_per_repeat": args.events,
        "repeats": args.repeats,
        "us_per_event": {name: round(statistics.median(t), 1) for name, t in timings.items()},
        "us_per_event_each_repeat": {name: [round(x, 1) for x in t]
                                     for name, t in timings.items()},
    }


if __name__ == "__main__":
    main()
