"""Versioned static URLs: `asset('css/app.css')` → /static/css/app.css?v=<content hash>.

Static files are served with a one-year cache lifetime; the hash in the URL changes when the
content does, so browsers never keep a stale copy.
"""

from __future__ import annotations

import hashlib
import re
import sys
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface

from .socket_middleware import is_socket_environ


@lru_cache(maxsize=256)
def _digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version_of(filename: str) -> str:
    path = Path(current_app.static_folder) / filename
    try:
        return _digest(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        return "missing"


def asset(filename: str) -> str:
    return url_for("static", filename=filename, v=version_of(filename))


# ---- Script bundles ------------------------------------------------------------------------
# A phone pays a round trip per file: `scripts('vendor/htmx.min.js', 'js/app.js', ...)` in a
# template gives ONE URL that serves those files concatenated in order (one deferred script runs
# them in the same order separate deferred scripts would). The URL names the files and carries a
# hash of their versions, so it is cached for a year like any versioned static file.

BUNDLE_FILE = re.compile(r"^(?:js|vendor)/[A-Za-z0-9_.-]+\.js$")
MAX_BUNDLE_FILES = 40


def bundle_version(files: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\n".join(f"{f}={version_of(f)}" for f in files).encode())
    return digest.hexdigest()[:12]


def scripts(*files: str) -> str:
    return url_for("core.script_bundle", f=",".join(files), v=bundle_version(files))


def bundle_files(spec: str) -> tuple[str, ...] | None:
    """The files a bundle URL names, or None when any of them is not a servable script."""
    files = tuple(spec.split(",")) if spec else ()
    if not files or len(files) > MAX_BUNDLE_FILES or len(set(files)) != len(files):
        return None
    root = Path(current_app.static_folder)
    for name in files:
        if not BUNDLE_FILE.match(name) or not (root / name).is_file():
            return None
    return files


def bundle_source(files: tuple[str, ...]) -> bytes:
    root = Path(current_app.static_folder)
    parts = [b"/* " + name.encode() + b" */\n" + (root / name).read_bytes() for name in files]
    # The newline and semicolon keep a file without a final newline from merging into the next.
    return b"\n;\n".join(parts) + b"\n"


# Responses that are the same for everybody: they must not vary on the session cookie, or
# browsers would fetch them again after each sign-in.
COOKIE_FREE_ENDPOINTS = {"static", "core.service_worker", "core.script_bundle"}
ONE_YEAR = 31536000


def _static_cache_headers(response: Response) -> Response:
    """One year, immutable, only for the exact current version; anything else revalidates."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    wanted = request.args.get("v")
    response.headers.pop("Expires", None)
    if wanted and wanted == version_of(filename):
        response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    else:
        # Unversioned or stale URL: may be cached but is checked (ETag) before each use.
        response.headers["Cache-Control"] = "no-cache"
    return response


_SOCKET_SESSION = "healthspace.socket_session"


class _SessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        # Every Socket.IO event runs in a request context built from its connection's
        # environ, so it opens the cookie the socket connected with: always the same one.
        # Its signature is checked once per connection, then each event gets a copy (what an
        # event changes in its session is dropped, as before: a socket has no response).
        # What the connection keeps is a plain dict with shared keys: it lives as long as
        # the socket, thousands of them in a worker.
        environ = request.environ
        if not is_socket_environ(environ):
            return super().open_session(app, request)
        opened = environ.get(_SOCKET_SESSION)
        if opened is None:
            session = super().open_session(app, request)
            if session is None:
                return None
            opened = environ[_SOCKET_SESSION] = {sys.intern(k): v for k, v in session.items()}
        return self.session_class(opened)

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if request.endpoint in COOKIE_FREE_ENDPOINTS and not session.modified:
            kept = [h for h in response.vary if h.lower() != "cookie"]
            if kept:
                response.headers["Vary"] = ", ".join(kept)
            else:
                response.headers.pop("Vary", None)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset"] = asset
    app.jinja_env.globals["scripts"] = scripts
    app.after_request(_static_cache_headers)
    app.session_interface = _SessionInterface()
