"""`make run`: the embedded server on http://localhost:5000 (threading mode, one process).

Production serves with gunicorn's gevent worker instead (see README).
"""

from __future__ import annotations

import os

from . import checkpoint, create_app
from .extensions import socketio


def main() -> None:
    os.environ.setdefault("RUN_REMINDER_WORKER", "1")
    os.environ.setdefault("RUN_CIRCLE_SWEEP", "1")
    app = create_app({"MIGRATIONS": False})  # `make run` migrated before serving
    checkpoint.start(app)
    if app.config["RUN_REMINDER_WORKER"]:
        from .agenda.worker import start_in_process

        start_in_process(app)
    if app.config["RUN_CIRCLE_SWEEP"]:
        from .circle import sweeper

        sweeper.start_in_process(app)
    host = os.environ.get("HOST", "localhost")
    port = int(os.environ.get("PORT", "5000"))
    print(f" * Health Space on http://localhost:{port}")
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)


if __name__ == "__main__":
    main()
