"""Background jobs that run every few seconds (the reminder worker, the circle's expiry sweep).

Each pass gets its own app context and session; a failed pass is logged and rolled back, and
the loop goes on at the next interval. Knows no domain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy.exc import OperationalError

from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")


def run_pass(app: Flask, job: Callable[[], T], name: str) -> T | None:
    """One pass of `job` in its own app context; a busy database is retried at the next pass."""
    with app.app_context():
        try:
            return job()
        except OperationalError:
            log.warning("%s: database busy, retrying", name, exc_info=True)
            db.session.rollback()
        except Exception:
            log.exception("%s: pass failed", name)
            db.session.rollback()
        finally:
            db.session.remove()
    return None


def run_forever(app: Flask, job: Callable[[], object], *, name: str, interval: float,
                stop: threading.Event | None = None) -> None:
    """Run `job` every `interval` seconds (at least 0.5 s apart) until `stop` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        run_pass(app, job, name)
        stop.wait(max(0.5, interval - (time.monotonic() - started)))
