"""Benchmark: 10,000 reminders due in the same minute, two workers, PostgreSQL, a local push
service that verifies VAPID and decrypts every payload (tests/push/push_endpoint.py).

    .venv/bin/python bench/reminders.py [--reminders 10000] [--workers 2]

Creates its own database (postgresql://postgres@127.0.0.1:5432/healthspace_bench_<pid>, dropped
at the end; BENCH_PG_ADMIN_URL overrides the server), one patient with one device per reminder,
and the deliveries the reminders' rule produces for that minute. Then it starts the workers —
separate `flask reminders run --now <minute>` processes, as in production — at the minute, and
prints JSON: seconds until the last push was accepted, pushes per second, how many reminders
reached a device twice (target: all accepted within 30 s, 0 twice).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MINUTE = datetime(2026, 3, 10, 7, 0)  # 08:00 in Paris


def _database(name: str, create: bool) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _populate(app, endpoint, n: int) -> None:
    """Bulk rows, built the way the services build them (sealed titles, the rule's deliveries)."""
    from webapp import crypto
    from webapp.accounts.models import User
    from webapp.agenda.models import Delivery, Reminder, _aad
    from webapp.extensions import db
    from webapp.push.models import PushSubscription

    with app.app_context():
        db.session.execute(User.__table__.insert(), [
            dict(email=f"bench{i}@example.test", display_name=f"Bench {i}", role="patient",
                 language="fr", timezone="Europe/Paris", large_text=False, theme="auto",
                 session_token=f"t{i}", active=True) for i in range(n)])
        ids = [row[0] for row in db.session.execute(
            db.select(User.id).order_by(User.id)).all()]
        subs = [endpoint.subscription() for _ in range(n)]
        db.session.execute(PushSubscription.__table__.insert(), [
            dict(user_id=uid, endpoint=s.endpoint, p256dh=s.p256dh, auth=s.auth,
                 label="bench", failure_count=0) for uid, s in zip(ids, subs, strict=True)])
        aad = _aad("reminders", "title_sealed")
        db.session.execute(Reminder.__table__.insert(), [
            dict(patient_id=uid, created_by_id=uid, kind="medication",
                 title_sealed=crypto.seal("Kardégic 75 mg", aad),
                 rrule="RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0", dtstart=datetime(2026, 3, 1),
                 timezone="Europe/Paris", window_minutes=60, active=True,
                 materialized_until=MINUTE + timedelta(hours=30)) for uid in ids])
        reminders = db.session.execute(db.select(Reminder.id, Reminder.patient_id)).all()
        db.session.execute(Delivery.__table__.insert(), [
            dict(dedupe_key=f"r:{rid}:{MINUTE:%Y%m%dT%H%M}", recipient_id=pid, patient_id=pid,
                 kind="reminder", reminder_id=rid, occurrence_at=MINUTE, due_at=MINUTE,
                 expires_at=MINUTE + timedelta(minutes=60), status="pending", attempts=0,
                 devices=0) for rid, pid in reminders])
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="deliveries a worker claims at once")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    name = f"healthspace_bench_{os.getpid()}"
    url = _database(name, create=True)
    env = {**os.environ, "HEALTHSPACE_INSTANCE": str(instance), "HEALTHSPACE_ENV": "test",
           "DATABASE_URL": url, "FLASK_APP": "wsgi:app", "RATELIMIT_ENABLED": "0"}
    os.environ.update({k: env[k] for k in ("HEALTHSPACE_INSTANCE", "HEALTHSPACE_ENV",
                                           "DATABASE_URL")})
    from flask_migrate import upgrade

    from tests.push.push_endpoint import PushEndpoint
    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance)})
    try:
        with app.app_context():
            upgrade()
        with PushEndpoint() as endpoint:
            _populate(app, endpoint, args.reminders)
            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.time()
            workers = [subprocess.Popen(
                [sys.executable, "-m", "flask", "reminders", "run", "--now", MINUTE.isoformat(),
                 "--batch", str(args.batch)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(args.workers)]
            outputs = [w.communicate(timeout=600) for w in workers]
            finished = time.time()
            endpoint.wait_for(args.reminders, timeout=30)
            received = list(endpoint.received)
            errors = list(endpoint.errors)
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
        last = max((d.at for d in received), default=finished)
        tags = Counter(d.payload["tag"] for d in received)
        from sqlalchemy import func, select

        from webapp.agenda.models import Delivery
        from webapp.extensions import db

        with app.app_context():
            statuses = dict(db.session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)).all())
            per_worker = dict(db.session.execute(
                select(Delivery.claimed_by, func.count()).group_by(Delivery.claimed_by)).all())
            claimed_twice = db.session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.attempts > 1))
        result = {
            "reminders": args.reminders,
            "workers": args.workers,
            "batch": args.batch,
            "accepted": len(received),
            "seconds_to_last_accepted": round(last - started, 2),
            "pushes_per_second": round(len(received) / max(last - started, 1e-9), 1),
            "sent_twice": sum(c - 1 for c in tags.values() if c > 1),
            "claimed_twice": claimed_twice,
            "endpoint_errors": len(errors),
            "statuses": statuses,
            "per_worker": sorted(per_worker.values(), reverse=True),
            "worker_exit_codes": [w.returncode for w in workers],
            # Where the CPU went: the workers (both processes together) and the simulated
            # push service (this process: VAPID checks and decryption of every message).
            "cpu_seconds_workers": round(children.ru_utime + children.ru_stime, 1),
            "cpu_seconds_push_service": round(
                cpu_after.ru_utime + cpu_after.ru_stime
                - cpu_before.ru_utime - cpu_before.ru_stime, 1),
            "load_average_1min": os.getloadavg()[0],
            "worker_stderr_tail": [err[-300:] for _out, err in outputs if err.strip()][:2],
        }
        print(json.dumps(result, indent=2))
    finally:
        from webapp.extensions import db

        with app.app_context():
            db.engine.dispose()
        _database(name, create=False)


if __name__ == "__main__":
    main()
