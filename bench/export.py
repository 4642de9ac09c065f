"""A patient's export with a long history: how long it takes, how big the file is, and the
longest stretch of CPU between two pauses for the other sockets (under the gevent worker a
request that never pauses stops every live chat while it runs).

    .venv/bin/python bench/export.py [--messages 20000] [--history 20000]

Builds a temporary SQLite database (or DATABASE_URL's) through the migrations: a patient, a
nurse with the messages scope, one care conversation of --messages messages and --history lines
of access history; then POSTs /export through Flask's test client, signed in as the patient.
Prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import time

from fresh_app import migrated_app  # bench/ is the script's folder: first on the path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--history", type=int, default=20_000)
    args = parser.parse_args()

    app, url = migrated_app("hs-bench-export-")

    from sqlalchemy import insert

    from webapp import crypto
    from webapp.accounts import services as accounts
    from webapp.audit import AccessEvent
    from webapp.chat import services as chat
    from webapp.chat.models import Message
    from webapp.circle import services as circle
    from webapp.extensions import db, socketio

    with app.app_context():
        patient = accounts.create_user(email="p@bench.test", display_name="Patient",
                                       role="patient", password="bench-password-1")
        nurse = accounts.create_user(email="n@bench.test", display_name="Nurse",
                                     role="professional", profession="nurse",
                                     rpps="11111111111")
        db.session.commit()
        circle.grant(patient, nurse, "messages", None)
        db.session.commit()
        conversation = chat.start_conversation(nurse, patient=patient, member_ids=[],
                                               subject="Bench")
        at = chat.now()
        rows = []
        for i in range(args.messages):
            cid = f"export-{i:07d}-bench"
            rows.append({"conversation_id": conversation.id,
                         "author_id": nurse.id if i % 2 else patient.id, "client_id": cid,
                         "body_sealed": crypto.seal(f"Message number {i}, about the dressing.",
                                                    Message.body_aad(cid)),
                         "created_at": at})
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(Message), rows[start:start + 5000])
        lines = [{"at": at, "patient_id": patient.id, "actor_id": nurse.id, "actor_name": "Nurse",
                  "acting_as": "professional", "action": "read", "object_type": "message",
                  "object_id": str(i), "kind": "messages", "device": "phone",
                  "emergency": False} for i in range(args.history)]
        for start in range(0, len(lines), 5000):
            db.session.execute(insert(AccessEvent), lines[start:start + 5000])
        db.session.commit()

    # The longest CPU stretch without a pause: time between two calls of socketio.sleep.
    pauses: list[float] = []
    real_sleep = socketio.sleep

    def timed_sleep(seconds=0):
        pauses.append(time.perf_counter())
        return real_sleep(seconds)

    # As the gunicorn worker does after start-up (gunicorn.conf.py): the long-lived heap is
    # frozen, so a full collection does not scan it in the middle of the export.
    gc.collect()
    gc.freeze()
    client = app.test_client()
    client.post("/accounts/sign-in", data={"email": "p@bench.test", "password": "bench-password-1"})
    socketio.sleep = timed_sleep
    started = time.perf_counter()
    response = client.post("/export")
    elapsed = time.perf_counter() - started
    socketio.sleep = real_sleep
    assert response.status_code == 200, response.status_code
    data = json.loads(response.get_data())
    assert len(data["conversations"][0]["messages"]) == args.messages
    marks = [started, *pauses, started + elapsed]
    print(json.dumps({
        "database": url.split(":")[0],
        "messages": args.messages,
        "history_lines": args.history,
        "seconds": round(elapsed, 2),
        "file_mb": round(len(response.get_data()) / 1e6, 2),
        "pauses": len(pauses),
        "longest_stretch_without_pause_ms": round(
            max(b - a for a, b in zip(marks, marks[1:], strict=False)) * 1000, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
