"""Errors answer with a clear message: a fragment for HTMX, a page otherwise, JSON for APIs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import UserError
from ..extensions import db
from ..htmx import render, wants_fragment
from . import bp


def wants_json() -> bool:
    """JSON only for a client that asks for it: HTMX (whose requests accept anything) swaps
    the answer into the page, where JSON would show as raw text."""
    if request.headers.get("HX-Request"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def error_response(status: int, message: str, retry: str | None = None):
    """`retry`: a path of this site that lets the person try again (e.g. reload the form)."""
    if wants_json():
        return jsonify(error=message), status
    # Swapped into part of a page, which has its own h1, the message is a section's heading.
    return render("core/error.html", "core/_error.html", status=status,
                  status_code=status, message=message, retry=retry,
                  heading=2 if wants_fragment() else 1)


def page_of_the_form() -> str | None:
    """The path of the page the request came from (htmx says it; else the Referer), when it
    is a page of this site; None otherwise (never a link elsewhere)."""
    url = request.headers.get("HX-Current-URL") or request.referrer
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    return path


MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please sign in to continue."),
    403: lambda: _("You do not have access to this."),
    404: lambda: _("This page does not exist."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("The file is too large."),
    429: lambda: _("Too many attempts. Please wait a minute and try again."),
}


@bp.app_errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    db.session.rollback()
    # The page was open too long (or its session ended): an installed app shows no reload
    # button, so the answer links back to the page the form was on, which brings a new token.
    message = _("This form has expired. Reload the page and try again.")
    return error_response(400, message, retry=page_of_the_form())


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    db.session.rollback()
    message = exc.description if getattr(exc, "custom", False) else None
    if message is None:
        message = MESSAGES.get(exc.code, lambda: exc.name)()
    return error_response(exc.code or 500, message)


@bp.app_errorhandler(500)
def server_error(exc):
    db.session.rollback()
    return error_response(500, _("Something went wrong on our side. Nothing was changed."))


@bp.app_errorhandler(UserError)
def user_error(exc: UserError):
    db.session.rollback()
    return error_response(exc.status, exc.message)
