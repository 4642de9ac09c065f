"""`make run` needs nothing else: the server process runs the reminder worker itself."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from tests.live import LiveServer


def test_the_served_app_sends_due_reminders_by_itself(tmp_path, push_endpoint):
    server = LiveServer(tmp_path / "live").prepare(seed=True)  # RUN_REMINDER_WORKER defaults on
    db_path = server.database_url.removeprefix("sqlite:///")
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    sub = push_endpoint.subscription()
    with sqlite3.connect(db_path) as conn:
        jeanne, reminder = conn.execute(
            "SELECT patient_id, id FROM reminders WHERE kind='medication'").fetchone()
        conn.execute(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, label,"
            " failure_count, created_at) VALUES (?, ?, ?, ?, 'test', 0, ?)",
            (jeanne, sub.endpoint, sub.p256dh, sub.auth, now))
        conn.execute(
            "INSERT INTO reminder_deliveries (dedupe_key, recipient_id, patient_id, kind,"
            " reminder_id, occurrence_at, due_at, expires_at, status, attempts, devices)"
            " VALUES ('in-process', ?, ?, 'reminder', ?, ?, ?, datetime(?, '+1 hour'),"
            " 'pending', 0, 0)", (jeanne, jeanne, reminder, now, now, now))
    server.start()
    try:
        push_endpoint.wait_for(1, timeout=60)
        status = None
        for _ in range(100):
            with sqlite3.connect(db_path) as conn:
                status = conn.execute("SELECT status, devices FROM reminder_deliveries"
                                      " WHERE dedupe_key='in-process'").fetchone()
            if status[0] != "pending" and status[0] != "sending":
                break
            time.sleep(0.1)
        assert status == ("sent", 1)
        assert push_endpoint.received[0].payload["kind"] == "medication"
        assert push_endpoint.errors == []
    finally:
        server.stop()
