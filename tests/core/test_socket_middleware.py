"""The WSGI entry: /socket.io/ goes to Socket.IO with the request's own environ, the rest to
Flask. A WebSocket keeps its request for as long as it is open, so what this layer adds to
each request is held thousands of times in a worker (see webapp/socket_middleware.py)."""

from __future__ import annotations

import json

from werkzeug.test import EnvironBuilder


def _call(app, path, query=""):
    environ = EnvironBuilder(path=path, query_string=query).get_environ()
    environ["gunicorn.socket"] = object()  # as under gunicorn: engine.io's shim looked for it
    status = []
    body = b"".join(app.wsgi_app(environ, lambda s, headers, exc=None: status.append(s)))
    return environ, status[0], body


def test_a_socket_request_is_served_with_its_own_environ(app):
    from webapp.extensions import socketio

    environ, status, body = _call(app, "/socket.io/", "EIO=4&transport=polling")
    assert status.startswith("200")
    opened = json.loads(body.decode()[1:])  # "0{...}": engine.io's open packet
    try:
        assert opened["sid"] in socketio.server.eio.sockets
        # The very dict the server was given (not a copy kept beside it), and no per-request
        # wrapper class for eventlet, which this app never runs on.
        assert environ["flask.app"] is app
        assert "eventlet.input" not in environ
    finally:
        # No client will poll for the close packet: close without waiting for it.
        socketio.server.eio.sockets.pop(opened["sid"]).close(wait=False, abort=True)


def test_other_requests_reach_flask(app):
    environ, status, body = _call(app, "/healthz")
    assert status.startswith("200")
    assert "flask.app" not in environ


def test_only_a_sockets_own_environ_skips_the_routes(client):
    # Socket events are not matched against the routes (SocketEventContext); a page request
    # to the same path still is, and gets its 404.
    assert client.get("/socket.io").status_code == 404
    assert client.get("/healthz").status_code == 200


def test_flask_socketio_debug_wrapping_still_has_its_hook(app):
    from webapp.extensions import socketio

    # socketio.run(debug=True) wraps `sockio_mw.wsgi_app`: it must be the Flask app's own.
    assert socketio.sockio_mw is app.wsgi_app
    assert socketio.sockio_mw.wsgi_app.__func__ is type(app).wsgi_app


def _in_a_fresh_process(tmp_path, body: str) -> list[str]:
    """What `body` prints, run after `from webapp import create_app` and `socketio` in a new
    Python process whose apps use an SQLite file in tmp_path (`make_app()` creates one)."""
    import os
    import subprocess
    import sys

    script = (
        "from webapp import create_app\n"
        "from webapp.extensions import socketio\n"
        "def make_app():\n"
        f"    return create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/db.sqlite',\n"
        f"                       'INSTANCE_DIR': '{tmp_path}'}})\n"
        + body
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, "HEALTHSPACE_INSTANCE": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()


def test_every_app_of_a_process_gets_the_socket_handlers(tmp_path):
    """Flask-SocketIO binds a handler to the server that exists when it is declared: handlers
    imported after the first app's init_app were bound to that app's server only, and a
    second app in the same process (a script, a benchmark) had none. Run apart: a second app
    re-initialises the shared SocketIO object the other tests use."""
    lines = _in_a_fresh_process(tmp_path, (
        "for n in range(2):\n"
        "    make_app()\n"
        "    print(sorted(socketio.server.handlers.get('/chat', {})))\n"
    ))
    first, second = lines[-2:]
    assert "send_message" in first
    assert second == first


def test_a_clients_events_run_in_turn_in_the_served_app(tmp_path):
    """Served, a client's events run one after the other in the greenlet that reads its socket
    (no greenlet spawned per event, a phone's messages handled in the order it sent them), as
    the test client runs them. Asked in a process of its own: the test client switches the
    shared server to this mode, so no other test would notice the setting gone."""
    lines = _in_a_fresh_process(tmp_path, (
        "make_app()\n"
        "print(socketio.server.async_handlers, socketio.server.eio.async_handlers)\n"
    ))
    assert lines[-1] == "False False"
