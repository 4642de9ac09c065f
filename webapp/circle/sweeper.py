"""The expiry sweep, run by itself: when a grant reaches its end date (or an emergency access
its fourth hour), policy refuses it at once, but a socket that is already open keeps its rooms
until someone tells the chat. The sweep does: it signals `access_changed` for every access that
ended since the last pass, and the chat pulls the grantee's live sockets out of the patient's
rooms.

`make run` runs it as a background task of the server (RUN_CIRCLE_SWEEP); in production one
process runs `flask circle sweep --loop` (see README, "Deploying on several processes").
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from .. import periodic
from . import services

log = logging.getLogger(__name__)

INTERVAL = 30.0  # seconds: how long at most a live socket outlives an ended grant


def sweep_once(app: Flask) -> int:
    """One pass in its own app context; a busy database is retried at the next pass."""
    return periodic.run_pass(app, _sweep, "circle sweep") or 0


def _sweep() -> int:
    signalled = services.sweep_expired()
    if signalled:
        log.info("circle sweep: %d ended access(es) signalled", signalled)
    return signalled


def run_forever(app: Flask, stop: threading.Event | None = None,
                interval: float = INTERVAL) -> None:
    periodic.run_forever(app, _sweep, name="circle sweep", interval=interval, stop=stop)


def start_in_process(app: Flask) -> None:
    """`make run`: the sweep inside the server process, so ended access is cut by itself."""
    from ..extensions import socketio

    socketio.start_background_task(run_forever, app,
                                   interval=app.config["CIRCLE_SWEEP_SECONDS"])
