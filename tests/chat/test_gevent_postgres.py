"""The production server shape on PostgreSQL: `gunicorn -c gunicorn.conf.py` (gevent worker,
no --preload, so psycopg is imported after gevent patched the standard library) delivers a
message between two python-socketio clients, and the worker's database calls cooperate with
the gevent loop: a send blocked on a row lock does not stop another socket's request.

Runs in the PostgreSQL pass (DATABASE_URL=postgresql+psycopg://…), on a fresh database of its
own on that server, dropped afterwards."""

from __future__ import annotations

import os
import secrets
import threading
import time

import pytest
import sqlalchemy as sa

from tests.chat.test_live import NS, connected, setup
from tests.live import LiveServer, wait_until

pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh_database():
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        pytest.skip("DATABASE_URL is not PostgreSQL (the PostgreSQL pass runs this)")
    url = sa.engine.make_url(database_url)
    name = f"hs_chat_gevent_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _waiting_on_a_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar()
        )


def test_gevent_worker_on_postgresql_delivers_and_cooperates(tmp_path, fresh_database):
    server = LiveServer(
        tmp_path / "gevent-pg", database_url=fresh_database, extra_env={"REDIS_URL": ""}
    ).under_gunicorn()
    data = setup(server, "circle")  # migrates the fresh database, makes a care circle
    conv = data["conversation"]
    server.start()
    engine = sa.create_engine(fresh_database)
    try:
        with connected(data, (server, "nurse"), (server, "patient")) as (nurse, patient):
            deadline = time.monotonic() + 30
            first = nurse.send("gevent-pg-0001-x", "Bonjour depuis PostgreSQL", deadline)
            assert first["created"] and 'class="msg"' in first["html"]
            assert wait_until(lambda: first["id"] in patient.received, 10)
            assert setup(server, "messages", conv) == [
                [first["id"], "gevent-pg-0001-x", "Bonjour depuis PostgreSQL"]
            ]

            # Hold the conversation's row: the nurse's next send blocks inside the worker on
            # PostgreSQL. Were psycopg blocking the process instead of the greenlet, the
            # patient's request below could only be answered after the lock is released.
            replies = {}
            with engine.connect() as lock:
                lock.execute(
                    sa.text("SELECT id FROM conversations WHERE id = :id FOR UPDATE"), {"id": conv}
                )
                sender = threading.Thread(
                    target=lambda: replies.update(
                        second=nurse.sio.call(
                            "send_message",
                            {
                                "conversation_id": conv,
                                "client_id": "gevent-pg-0002-x",
                                "body": "Pendant le verrou",
                            },
                            namespace=NS,
                            timeout=30,
                        )
                    ),
                    daemon=True,
                )
                sender.start()
                assert wait_until(lambda: _waiting_on_a_lock(engine), 10)
                sync = patient.sio.call(
                    "sync", {"conversation_id": conv, "after_id": None}, namespace=NS, timeout=10
                )
                assert sync["ok"] and [m["id"] for m in sync["messages"]] == [first["id"]]
                assert "second" not in replies  # still blocked on the lock while sync was served
                lock.rollback()
            sender.join(30)
            assert replies["second"]["ok"] and replies["second"]["created"]
            assert wait_until(lambda: replies["second"]["id"] in patient.received, 10)
    finally:
        engine.dispose()
        server.stop()
