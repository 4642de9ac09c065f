"""Response headers every page carries, and the Flask-Login wiring."""

from __future__ import annotations

from flask import Flask, request

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


def init_app(app: Flask) -> None:
    from .accounts.models import User
    from .extensions import db, login_manager

    login_manager.session_protection = "strong"
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(alternative_id: str):
        # The id carries the user's session token: "sign out of all devices" rotates it.
        user_id, _, token = alternative_id.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or user.session_token != token:
            return None
        return user

    app.after_request(_headers)
