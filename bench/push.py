"""Benchmark: the push layer alone — send_many() throughput to a local push service.

    .venv/bin/python bench/push.py [--pushes 2000] [--concurrency 4 16 32]

The push service (tests/push/push_endpoint.py: verifies every VAPID JWT, decrypts every payload)
runs in a child process, as a real one would be elsewhere; both share this machine's cores, so
the figures are a floor. One user with one device per push, a temporary SQLite database (or
DATABASE_URL). For each concurrency it prints one JSON line: pushes, seconds, pushes per second,
accepted, refused by the service, delivered twice.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _service(conn, n_subs: int, application_server_key: str) -> None:
    from tests.push.push_endpoint import PushEndpoint

    with PushEndpoint() as endpoint:
        infos = [endpoint.subscription(application_server_key).info() for _ in range(n_subs)]
        conn.send(infos)
        while True:
            command = conn.recv()
            if command == "stats":
                tokens = Counter(d.token for d in endpoint.received)
                conn.send({"accepted": len(endpoint.received), "refused": len(endpoint.errors),
                           "twice": sum(1 for c in tokens.values() if c > 1)})
                endpoint.clear()
            elif command == "stop":
                return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 32])
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="push-bench-"))
    os.environ["HEALTHSPACE_INSTANCE"] = str(tmp)
    os.environ.setdefault("HEALTHSPACE_ENV", "test")
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.accounts.models import User
    from webapp.extensions import db
    from webapp.push import services, vapid
    from webapp.push.models import PushSubscription

    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp),
                      "SQLALCHEMY_DATABASE_URI": os.environ.get(
                          "DATABASE_URL", f"sqlite:///{tmp / 'bench.db'}")})
    with app.app_context():
        upgrade()
        key = vapid.application_server_key()
        parent, child = mp.Pipe()
        service = mp.get_context("spawn").Process(target=_service, args=(child, args.pushes, key))
        service.start()
        infos = parent.recv()
        db.session.execute(User.__table__.insert(), [
            dict(email=f"push{i}@bench.test", display_name=f"P{i}", role="patient",
                 language="en", timezone="Europe/Paris", large_text=False, theme="auto",
                 session_token=f"t{i}", active=True) for i in range(args.pushes)])
        ids = db.session.scalars(db.select(User.id).order_by(User.id)).all()
        db.session.execute(PushSubscription.__table__.insert(), [
            dict(user_id=uid, endpoint=info["endpoint"], p256dh=info["keys"]["p256dh"],
                 auth=info["keys"]["auth"], label="bench", failure_count=0)
            for uid, info in zip(ids, infos, strict=True)])
        db.session.commit()
        try:
            for concurrency in args.concurrency:
                jobs = [services.PushJob(user=uid, payload=services.notification(
                    uid, kind="reminder", url="/agenda", tag=f"r{uid}", show_details=False),
                    ttl=3600, urgency="high", key=uid) for uid in ids]
                started = time.perf_counter()
                results = services.send_many(jobs, concurrency=concurrency)
                seconds = time.perf_counter() - started
                parent.send("stats")
                stats = parent.recv()
                print(json.dumps({
                    "pushes": len(jobs), "concurrency": concurrency,
                    "seconds": round(seconds, 2),
                    "pushes_per_second": round(len(jobs) / seconds, 1),
                    "accepted_by_sender": sum(r.accepted for r in results),
                    "accepted_by_service": stats["accepted"],
                    "refused_by_service": stats["refused"],
                    "delivered_twice": stats["twice"],
                }), flush=True)
        finally:
            parent.send("stop")
            service.join(timeout=10)


if __name__ == "__main__":
    main()
