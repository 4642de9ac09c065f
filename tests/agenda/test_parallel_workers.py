"""Two workers in parallel on PostgreSQL send each reminder exactly once (SKIP LOCKED)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.agenda.helpers import make_reminder
from webapp.agenda import worker
from webapp.agenda.models import Delivery
from webapp.extensions import db
from webapp.push import services as push

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                       reason="several workers need PostgreSQL (SQLite runs a single worker)"),
]

CREATED = datetime(2026, 3, 10, 6, 0)
DUE = datetime(2026, 3, 10, 7, 0)
N = 300


def test_two_workers_send_each_reminder_once(app, people, push_endpoint):
    with app.app_context():
        patient = people.get("patient")
        push.subscribe(patient, push_endpoint.subscription().info())
        db.session.commit()
        for i in range(N):
            make_reminder(patient, patient, CREATED, title=f"Dose {i}", times="08:00")
        assert db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.due_at == DUE)) == N

    start = threading.Barrier(2)
    results: dict[str, dict] = {}

    def run(name: str) -> None:
        with app.app_context():
            start.wait()
            results[name] = worker.tick(DUE, worker=name, batch=10)
            db.session.remove()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("worker-a", "worker-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert sum(r.get("claimed", 0) for r in results.values()) == N
    push_endpoint.wait_for(N)
    assert push_endpoint.errors == []
    tags = Counter(d.payload["tag"] for d in push_endpoint.received)
    assert len(tags) == N and max(tags.values()) == 1  # nobody got one twice
    with app.app_context():
        rows = db.session.execute(select(Delivery.claimed_by, Delivery.attempts, Delivery.status)
                                  .where(Delivery.due_at == DUE)).all()
        assert {(attempts, status) for _w, attempts, status in rows} == {(1, "sent")}
        assert {w for w, _a, _s in rows} == {"worker-a", "worker-b"}  # both really worked
