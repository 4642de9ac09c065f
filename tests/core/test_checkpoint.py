"""SQLite's WAL checkpoints run on a thread of their own in serving processes
(webapp/checkpoint.py): connections stop checkpointing inside commits, and what is committed
still reaches the database file within seconds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.chat.test_live import connected, setup
from tests.live import LiveServer, wait_until
from webapp import checkpoint
from webapp.extensions import db


def test_only_sqlite_files_have_checkpoints_to_move():
    assert checkpoint.database_path("sqlite:////srv/hs/app.db") == "/srv/hs/app.db"
    assert checkpoint.database_path("sqlite:///relative.db") == "relative.db"
    assert checkpoint.database_path("sqlite://") is None
    assert checkpoint.database_path("sqlite:///:memory:") is None
    assert checkpoint.database_path("postgresql+psycopg://u@127.0.0.1:5432/hs") is None


def _in_file(path: str, needle: bytes) -> bool:
    return needle in Path(path).read_bytes()


def test_a_serving_process_checkpoints_off_the_commit_path(app, make_user):
    path = checkpoint.database_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is None:
        assert checkpoint.start(app) is False
        assert not checkpoint.automatic_checkpoints_off()
        return
    try:
        assert checkpoint.start(app) is True
        with app.app_context():
            assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
            db.session.remove()
        email = f"checkpointed-{time.time_ns()}@example.test"
        make_user(email=email)
        # Committed: in the log at once, in the database file once the thread has copied it
        # (a single row never reaches SQLite's own 1,000-page mark, and the commit no longer
        # checkpoints anyway).
        assert wait_until(lambda: _in_file(path, email.encode()), 10)
    finally:
        checkpoint.stop()
        with app.app_context():
            db.engine.dispose()
    with app.app_context():
        assert db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
        db.session.remove()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="gunicorn's gevent worker")
def test_the_gevent_worker_copies_messages_into_the_database_file(tmp_path):
    """The production shape on SQLite: the checkpoint runs on the gevent hub's thread pool,
    and the worker keeps delivering meanwhile."""
    server = LiveServer(tmp_path / "gevent-sqlite").under_gunicorn()
    data = setup(server, "circle")
    database = checkpoint.database_path(server.database_url)
    server.start()
    try:
        with connected(data, (server, "nurse"), (server, "patient")) as (nurse, patient):
            client_ids = [f"ckpt-gevent-{n:04d}-x" for n in range(20)]
            for client_id in client_ids:
                ack = nurse.send(client_id, "Passage à 9h", time.monotonic() + 30)
                assert ack["ok"] and ack["created"]
            assert wait_until(lambda: len(patient.received) >= len(client_ids), 10)
            assert wait_until(lambda: _in_file(database, client_ids[-1].encode()), 10)
            assert "checkpoint" not in server.log.read_text()
    finally:
        server.stop()
