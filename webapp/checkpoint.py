"""SQLite's WAL checkpoints, moved off the request path.

In WAL mode a commit appends to the log. By default, once the log passes 1,000 pages, SQLite
copies it back into the database file inside whichever commit crossed the line, fsyncs
included: measured here, a chat message costs about 1 ms with that commit 3 to 7 ms more, one
message in a hundred. Under the gevent worker that commit stops every socket of the process.

A serving process (gunicorn's worker, `make run`) therefore turns the automatic checkpoints off
for its connections and runs a passive checkpoint every second on a thread of its own: a real
OS thread even under gevent, and SQLite lets go of the GIL while it copies and syncs, so no
request waits for it. A passive checkpoint never blocks writers or readers; what it cannot copy
yet (a reader still needs the old pages) is copied at a later pass.

Processes that do not serve (flask commands, tests) keep SQLite's automatic checkpoints, and
SQLite checkpoints the log whenever the last connection to the database closes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from flask import Flask
from sqlalchemy.engine import make_url

from .extensions import db, socketio

log = logging.getLogger(__name__)
INTERVAL = 1.0  # seconds between passes

_running = threading.Event()  # while set, new connections leave checkpoints to the thread


def automatic_checkpoints_off() -> bool:
    """Whether this process's new SQLite connections turn their own checkpoints off."""
    return _running.is_set()


def database_path(uri: str) -> str | None:
    """The file of a SQLite database URI; None for other databases and in-memory ones."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def checkpoint(path: str) -> tuple[int, int, int]:
    """One passive checkpoint of `path`: (busy, frames in the log, frames copied back)."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        connection.close()
    return busy, frames, copied


def start(app: Flask) -> bool:
    """Run the checkpoints of `app`'s SQLite database in the background from now on.
    Returns False (and does nothing) for other databases."""
    path = database_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is None:
        return False
    _running.set()
    with app.app_context():
        db.engine.dispose()  # pooled connections reopen with checkpoints off
    socketio.start_background_task(_loop, path)
    return True


def stop() -> None:
    """New connections checkpoint for themselves again; the loop ends at its next pass."""
    _running.clear()


def _loop(path: str) -> None:
    run = _off_the_loop()
    while _running.is_set():
        socketio.sleep(INTERVAL)
        try:
            run(checkpoint, path)
        except Exception:  # noqa: BLE001 - a failed pass is retried at the next one
            log.warning("WAL checkpoint of %s failed", path, exc_info=True)


def _off_the_loop():
    """How to call a blocking function without stopping the other sockets: on the gevent
    hub's pool of real threads under the gevent worker; directly elsewhere (the background
    task is a thread of its own)."""
    if socketio.async_mode == "gevent":
        import gevent

        pool = gevent.get_hub().threadpool
        return lambda fn, *args: pool.apply(fn, args)
    return lambda fn, *args: fn(*args)
