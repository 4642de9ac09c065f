"""`fresh_auth_required`: sensitive actions need a recent passkey or password check.

Adding a way to sign in, managing who has access, exporting or closing the space: when the last
check is older than FRESH_AUTH_SECONDS, the person is sent to the re-authentication page and,
once confirmed, brought back to where they were.
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, jsonify, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..htmx import redirect_to

SESSION_KEY = "auth_at"


def mark_fresh() -> None:
    session[SESSION_KEY] = time.time()


def is_fresh() -> bool:
    checked = session.get(SESSION_KEY)
    if not isinstance(checked, int | float):
        return False
    return time.time() - checked <= current_app.config["FRESH_AUTH_SECONDS"]


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _path_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path)


def return_target() -> str:
    """Where to come back after confirming: this page for a GET, else the page the form was on."""
    if request.method == "GET" and not request.is_json:
        return safe_next(request.full_path.rstrip("?")) or url_for("accounts.me")
    return (_path_of(request.headers.get("HX-Current-URL"))
            or _path_of(request.referrer)
            or url_for("accounts.me"))


AGAIN_KINDS = ("1", "download")  # "1": a change (the default); "download": an export


def reauth_url(again: str = "1") -> str:
    # What a form or a ceremony sent is not kept on the way: once confirmed, the person is told
    # to do it again (else they would believe their new password, say, was saved). `again`
    # says what to do again, for the wording.
    kept = {"again": again} if request.method != "GET" or request.is_json else {}
    return url_for("accounts.reauth", next=return_target(), **kept)


def fresh_auth_required(view, again: str = "1"):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if is_fresh():
            return view(*args, **kwargs)
        target = reauth_url(again)
        if request.is_json or request.accept_mimetypes.best == "application/json":
            return jsonify(error=_("Please confirm it is you first."), redirect=target), 401
        return redirect_to(target)

    return wrapper
