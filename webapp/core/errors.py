"""Errors answer with a clear message: a fragment for HTMX, a page otherwise, JSON for APIs."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import UserError
from ..extensions import db
from ..htmx import render
from . import bp


def wants_json() -> bool:
    """JSON only for a client that asks for it: HTMX (whose requests accept anything) swaps
    the answer into the page, where JSON would show as raw text."""
    if request.headers.get("HX-Request"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def error_response(status: int, message: str):
    if wants_json():
        return jsonify(error=message), status
    return render("core/error.html", "core/_error.html", status=status,
                  status_code=status, message=message)


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
    message = _("Your session form expired. Please reload the page and try again.")
    return error_response(400, message)


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
