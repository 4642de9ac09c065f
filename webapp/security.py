"""Response headers every page carries, input no view should see, and the Flask-Login wiring."""

from __future__ import annotations

from flask import Flask, abort, request

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def _headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or request.headers.get("X-Forwarded-Proto") == "https":
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    # Pages carry health data: never stored by shared caches, revalidated by the browser.
    if response.mimetype == "text/html" or request.path.startswith(("/chat", "/circle", "/agenda")):
        h.setdefault("Cache-Control", "no-store")
    return response


def _refuse_nul():
    """Nobody types a NUL character, and PostgreSQL cannot store one in text: a form or query
    string that carries one is refused whole (400), before any view sees it."""
    for source in (request.args, request.form):
        for values in source.listvalues():
            if any("\x00" in value for value in values):
                abort(400)


def _user_id_of(alternative_id: str) -> int | None:
    user_id = alternative_id.partition(":")[0]
    return int(user_id) if user_id.isdigit() else None


def session_user_id() -> int | None:
    """The id of the account this request's session names, NOT checked (the user loader
    checks it when current_user is read): for loading that account ahead, in the same query
    as the data the request needs, so that the check finds it loaded."""
    from flask import session

    value = session.get("_user_id")
    return _user_id_of(value) if isinstance(value, str) else None


def init_app(app: Flask) -> None:
    from .accounts.models import User
    from .extensions import db, login_manager

    login_manager.session_protection = "strong"
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(alternative_id: str):
        # The id carries the user's session token: "sign out of all devices" rotates it.
        user_id = _user_id_of(alternative_id)
        if user_id is None:
            return None
        user = db.session.get(User, user_id)
        token = alternative_id.partition(":")[2]
        if user is None or not user.is_active or user.session_token != token:
            return None
        return user

    app.before_request(_refuse_nul)
    app.after_request(_headers)
