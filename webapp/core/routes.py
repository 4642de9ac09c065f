"""Home, health check, and the PWA files that must live at the root."""

from __future__ import annotations

from flask import redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..extensions import db
from ..htmx import render
from . import bp


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.sign_in"))
    return redirect(url_for("core.home"))


@bp.get("/home")
@login_required
def home():
    return render("core/home.html")


@bp.get("/healthz")
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
