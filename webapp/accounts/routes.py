"""HTTP views (thin): parse, ask services, render."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..htmx import redirect_to, render
from . import bp, services


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("core.home"))
        return render("accounts/sign_in.html")
    email = request.form.get("email", "")
    user = services.check_password(email, request.form.get("password", ""))
    if user is None:
        return render("accounts/sign_in.html", "accounts/_password_form.html", status=401,
                      email=email, error=_("Wrong email or password."))
    services.start_session(user)
    return redirect_to(_safe_next(request.args.get("next")) or url_for("core.home"))


@bp.post("/sign-out")
def sign_out():
    services.end_session()
    return redirect(url_for("accounts.sign_in"))


@bp.get("/me")
@login_required
def me():
    return render("accounts/me.html")


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
