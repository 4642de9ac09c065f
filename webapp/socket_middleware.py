"""The WSGI entry that hands /socket.io/ requests to Socket.IO and the rest to Flask.

It replaces Flask-SocketIO's middleware, which does the same but, for every request, copies the
WSGI environ and (through python-engineio's middleware) builds a new class to wrap gunicorn's
socket for eventlet. Under the gevent worker neither is used, and a WebSocket keeps its request
alive for as long as it is connected: ~3 kB per connection held for nothing (measured with
tracemalloc; bench/chat_fanout.py reports the worker's memory with 2,000 idle sockets).

Each event of a socket then runs in a request context built on the connection's environ: the
app's Flask class gives those contexts a kind of their own (SocketEventContext).
"""

from __future__ import annotations

from flask import Flask
from flask.ctx import RequestContext

SOCKET_PATH = "/socket.io/"  # Flask-SocketIO's default, which this app keeps


def is_socket_environ(environ) -> bool:
    """The environ of a Socket.IO connection (every event of the socket runs on it), not an
    HTTP request's: this middleware, Flask-SocketIO's own and its test client mark it."""
    return "flask.app" in environ


class SocketEventContext(RequestContext):
    """The request context of one Socket.IO event, built on its connection's environ.

    No route matches /socket.io/, and nothing dispatches an event to a view: Flask asking the
    URL map on every event only found that out, at a cost the whole worker paid later. Werkzeug's
    matcher builds a closure that refers to itself at each match: 8 objects of cyclic garbage
    per event (bench/HISTORY.md, seventeenth session), which only the collector frees, and its
    pauses stop every socket of the worker. So events are not matched (Flask documents
    match_request as the hook for this): `request.url_rule`, `view_args` and
    `routing_exception` stay None.
    """

    def match_request(self) -> None:
        pass


class HealthSpaceFlask(Flask):
    """Flask, with Socket.IO events' request contexts left unmatched (above)."""

    def request_context(self, environ) -> RequestContext:
        if is_socket_environ(environ):
            return SocketEventContext(self, environ)
        return super().request_context(environ)


class SocketMiddleware:
    def __init__(self, flask_app: Flask, wsgi_app, server, path: str = SOCKET_PATH):
        self.flask_app = flask_app
        self.server = server
        self.path = path
        # Named as in Flask-SocketIO's middleware: socketio.run(debug=True) wraps it.
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if path.startswith(self.path):
            environ["flask.app"] = self.flask_app  # Flask-SocketIO's handlers look for it
            return self.server.handle_request(environ, start_response)
        return self.wsgi_app(environ, start_response)


def install(app: Flask, socketio) -> None:
    """After socketio.init_app(app): put this middleware in place of Flask-SocketIO's."""
    flask_wsgi_app = socketio.sockio_mw.wsgi_app  # what Flask-SocketIO's middleware wrapped
    socketio.sockio_mw = app.wsgi_app = SocketMiddleware(app, flask_wsgi_app, socketio.server)
