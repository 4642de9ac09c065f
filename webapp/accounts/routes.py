"""HTTP views (thin): parse, ask services, render.

Form routes re-render their own fragment with the message when a service refuses (so the
message shows in the form); JSON routes (the WebAuthn ceremonies) let core turn the refusal
into `{"error": ...}` with its 4xx status.
"""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import policy
from ..errors import UserError
from ..extensions import db, limiter
from ..htmx import redirect_to, render
from . import bp, ceremony, professions, services
from .fresh import AGAIN_KINDS, fresh_auth_required, safe_next
from .zones import zone_choices


def _ceremony_limit() -> str:
    """Anonymous ceremony starts write a row each: keep one address from flooding the table
    (configurable: a whole care home signs in from one address)."""
    return current_app.config["PASSKEY_CEREMONIES_PER_ADDRESS"]


def _form_error(page: str, fragment: str, exc: UserError, **context):
    db.session.rollback()
    return render(page, fragment, status=exc.status, error=exc.message, field=exc.field,
                  **context)


def _json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _locale() -> str:
    return str(get_locale() or "fr")


def _timezone() -> str:
    from flask import current_app

    return current_app.config["DEFAULT_TIMEZONE"]


# ---- Sign in ---------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    next_url = safe_next(request.args.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(next_url or url_for("core.home"))
        return render("accounts/sign_in.html")
    email = request.form.get("email", "")
    try:
        user = services.sign_in_with_password(email, request.form.get("password", ""))
    except services.SpaceClosed as exc:
        services.remember_owner(exc.account)
        return redirect_to(url_for("accounts.closed"))
    except UserError as exc:
        return _form_error("accounts/sign_in.html", "accounts/_password_form.html", exc,
                           email=email)
    services.start_session(user)
    return redirect_to(next_url or url_for("core.home"))


@bp.post("/passkey/options")
@limiter.limit(_ceremony_limit)
def passkey_options():
    return jsonify(publicKey=ceremony.begin_authentication())


@bp.post("/passkey/verify")
@limiter.limit(_ceremony_limit)
def passkey_verify():
    try:
        user = ceremony.finish_authentication(_json_body().get("credential"))
    except services.SpaceClosed as exc:
        services.remember_owner(exc.account)
        return jsonify(redirect=url_for("accounts.closed"))
    services.start_session(user)
    return jsonify(redirect=safe_next(request.args.get("next")) or url_for("core.home"))


@bp.post("/sign-out")
def sign_out():
    services.end_session()
    return redirect(url_for("accounts.sign_in"))


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    services.sign_out_everywhere(current_user._get_current_object())
    flash(_("You are signed out on all your devices."), "success")
    return redirect(url_for("accounts.sign_in"))


# ---- Closing the space, and reopening it -------------------------------------------------

@bp.get("/closed")
def closed():
    """After the right password or passkey for a space its patient closed: reopen it?"""
    account = services.owner_to_reopen()
    if account is None:
        return redirect(url_for("accounts.sign_in"))
    return render("accounts/closed.html", account=account)


@bp.post("/reopen")
def reopen():
    account = services.owner_to_reopen()
    if account is None:
        flash(_("Please sign in again to reopen your space."), "info")
        return redirect_to(url_for("accounts.sign_in"))
    services.start_session(services.reopen_space(account))
    flash(_("Welcome back. Your space is open again, as you left it."), "success")
    return redirect_to(url_for("core.home"))


@bp.route("/me/close", methods=["GET", "POST"])
@login_required
def close_space():
    user = current_user._get_current_object()
    policy.require(user, "space.close", user)
    if request.method == "GET":
        return _close_page(user)
    return fresh_auth_required(_close)(user)


def _close_page(user, **context):
    """The page, or its form alone for HTMX; it offers the download when policy allows it."""
    return render("accounts/close.html", "accounts/_close_form.html",
                  can_export=policy.can(user, "space.export", user), **context)


def _close(user):
    if request.form.get("confirm") != "yes":
        return _close_page(user, status=400, field="confirm",
                           error=_("Tick the box to confirm that you want to close your space."))
    services.close_space(user)
    services.end_session()
    # No longer signed in (a closed account is not active): her language is said explicitly,
    # for this message and for the sign-in page that follows on this device.
    session["language"] = user.language
    with force_locale(user.language):
        flash(_("Your space is closed. To open it again, sign in with your password or "
                "passkey."), "success")
    return redirect_to(url_for("accounts.sign_in"))


# ---- Re-authentication -----------------------------------------------------------------

def _again() -> str | None:
    """What asked for the check, when it was a form or a ceremony (see fresh.py)."""
    again = request.args.get("again")
    return again if again in AGAIN_KINDS else None


def _confirmed() -> None:
    again = _again()
    if again == "download":
        flash(_("Thank you, it is confirmed. You can download your data now."), "info")
    elif again:
        flash(_("Thank you, it is confirmed. Please do your change again: it was not saved."),
              "info")


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
def reauth():
    next_url = safe_next(request.args.get("next")) or url_for("accounts.me")
    if request.method == "GET":
        return render("accounts/reauth.html", next_url=next_url, again=_again())
    try:
        services.confirm_with_password(current_user, request.form.get("password", ""))
    except UserError as exc:
        return _form_error("accounts/reauth.html", "accounts/_reauth_password.html", exc,
                           next_url=next_url, again=_again())
    _confirmed()
    return redirect_to(next_url)


@bp.post("/reauth/passkey/options")
@login_required
@limiter.limit(_ceremony_limit)
def reauth_options():
    return jsonify(publicKey=ceremony.begin_reauth(current_user))


@bp.post("/reauth/passkey")
@login_required
@limiter.limit(_ceremony_limit)
def reauth_verify():
    ceremony.finish_reauth(current_user, _json_body().get("credential"))
    _confirmed()
    return jsonify(redirect=safe_next(request.args.get("next")) or url_for("accounts.me"))


# ---- Me --------------------------------------------------------------------------------

def _me_context(**extra) -> dict:
    zones = zone_choices(_locale(), current_user.timezone)
    return {"zones": zones, "themes": services.THEMES,
            "can_export": policy.can(current_user, "space.export", current_user),
            "can_close": policy.can(current_user, "space.close", current_user), **extra}


def _me_saved(fragment: str, message: str, **marks):
    """A "Me" form succeeded: HTMX swaps its fragment in place (marked as saved); a plain
    form post goes back to the page with the message."""
    if not request.htmx:
        flash(message, "success")
        return redirect(url_for("accounts.me"))
    return render("accounts/me.html", fragment, **_me_context(**marks))


@bp.get("/me")
@login_required
def me():
    return render("accounts/me.html", **_me_context())


@bp.post("/me/settings")
@login_required
def settings():
    form = request.form
    try:
        changed = services.update_settings(
            current_user, display_name=form.get("display_name", ""),
            language=form.get("language", ""), timezone=form.get("timezone", ""),
            large_text=form.get("large_text") == "on", theme=form.get("theme", ""),
        )
    except UserError as exc:
        return _form_error("accounts/me.html", "accounts/_settings.html", exc, **_me_context())
    if changed & {"language", "theme", "large_text"} or not request.htmx:
        # These change the whole page (its language, its <html> classes): load it again.
        flash(_("Your settings are saved."), "success")
        return redirect_to(url_for("accounts.me"))
    # The fragment says it itself: a flash too would wait for the next page and say it there.
    return render("accounts/me.html", "accounts/_settings.html", saved=True, **_me_context())


@bp.get("/me/passkeys")
@login_required
def passkeys():
    return render("accounts/me.html", "accounts/_passkeys.html", **_me_context())


@bp.post("/me/passkeys/options")
@login_required
@fresh_auth_required
@limiter.limit(_ceremony_limit)
def passkey_register_options():
    return jsonify(publicKey=ceremony.begin_registration(current_user))


@bp.post("/me/passkeys")
@login_required
@fresh_auth_required
@limiter.limit(_ceremony_limit)
def passkey_register():
    body = _json_body()
    passkey = ceremony.finish_registration(
        current_user, body.get("credential"), name=body.get("name"),
        user_agent=request.user_agent.string,
    )
    flash(_("Passkey “%(name)s” added.", name=passkey.name), "success")
    return jsonify(redirect=url_for("accounts.me"), id=passkey.id, name=passkey.name)


@bp.post("/me/passkeys/<int:passkey_id>/name")
@login_required
def passkey_rename(passkey_id: int):
    try:
        services.rename_passkey(current_user, passkey_id, request.form.get("name", ""))
    except UserError as exc:
        if exc.status == 404:
            raise
        return _form_error("accounts/me.html", "accounts/_passkeys.html", exc,
                           error_for=passkey_id, **_me_context())
    return _me_saved("accounts/_passkeys.html", _("Passkey renamed."), renamed=passkey_id)


@bp.route("/me/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def passkey_remove(passkey_id: int):
    passkey = services.get_passkey(current_user, passkey_id)
    if request.method == "GET":
        return render("accounts/confirm_remove.html", passkey=passkey,
                      refusal=services.passkey_removal_refusal(current_user))
    name = services.remove_passkey(current_user, passkey_id)
    flash(_("Passkey “%(name)s” removed.", name=name), "success")
    return redirect_to(url_for("accounts.me"))


@bp.post("/me/password")
@login_required
@fresh_auth_required
def password():
    try:
        services.change_password(current_user, request.form.get("password", ""))
    except UserError as exc:
        return _form_error("accounts/me.html", "accounts/_password_settings.html", exc,
                           **_me_context())
    return _me_saved("accounts/_password_settings.html", _("Your password is saved."), saved=True)


@bp.route("/me/password/remove", methods=["GET", "POST"])
@login_required
@fresh_auth_required
def password_remove():
    if request.method == "GET":
        return render("accounts/confirm_remove.html", passkey=None,
                      refusal=services.password_removal_refusal(current_user))
    services.remove_password(current_user)
    flash(_("Your password is removed. Sign in with a passkey from now on."), "success")
    return redirect_to(url_for("accounts.me"))


# ---- Invitations -----------------------------------------------------------------------

INVITATION_ROLES = ("patient", "relative", "professional", "admin")


def _invitations_page(error: UserError | None = None, **context):
    """The invitation codes page (or its fragment) with the recent codes; `error` shows the
    form again with its message."""
    context.setdefault("form", {})
    context.update(roles=INVITATION_ROLES, professions=professions.choices(),
                   now_utc=services.now(),
                   invitations=services.recent_invitations(current_user))
    if error is not None:
        return _form_error("accounts/invitations.html", "accounts/_invitation_form.html", error,
                           **context)
    return render("accounts/invitations.html", "accounts/_invitation_form.html", **context)


@bp.route("/invitations", methods=["GET", "POST"])
@login_required
def invitations():
    policy.require(current_user, "admin.invite")
    if request.method == "GET":
        return _invitations_page()
    form = request.form
    try:
        invitation, code = services.invite_by_admin(
            current_user, role=form.get("role", ""), email=form.get("email") or None,
            profession=form.get("profession"), rpps=form.get("rpps"),
            asked_since=form.get("asked_since") == "yes",
        )
    except services.Objected as exc:
        return _invitations_page(exc, form=form, objection=exc.objection)
    except UserError as exc:
        return _invitations_page(exc, form=form)
    return _invitations_page(created=invitation, code=code,
                             link=url_for("accounts.join", code=code, _external=True))


@bp.post("/invitations/<int:invitation_id>/cancel")
@login_required
def invitation_cancel(invitation_id: int):
    policy.require(current_user, "admin.invite")
    try:
        services.cancel_invitation(current_user, invitation_id)
    except UserError as exc:
        return _invitations_page(exc)
    return _invitations_page(notice=_("The code is cancelled: it no longer works."))


@bp.route("/join", methods=["GET", "POST"])
def join():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = request.form if request.method == "POST" else request.args
    code = form.get("code", "")
    if not code:
        return render("accounts/join.html", "accounts/_join.html", form=form, invitation=None)
    try:
        invitation = services.find_invitation(code)
    except UserError as exc:
        return _form_error("accounts/join.html", "accounts/_join.html", exc, form=form,
                           invitation=None)
    if request.method == "GET" or form.get("step") != "password":
        return render("accounts/join.html", "accounts/_join.html", form=form,
                      invitation=invitation)
    try:
        user = services.join_with_password(
            code, display_name=form.get("display_name", ""), email=form.get("email", ""),
            password=form.get("password", ""), language=_locale(), timezone=_timezone(),
        )
    except UserError as exc:
        return _form_error("accounts/join.html", "accounts/_join.html", exc, form=form,
                           invitation=invitation)
    services.start_session(user)
    flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
    return redirect_to(url_for("core.home"))


@bp.post("/join/object")
def join_object():
    """The right to object: the person a patient's space was to be opened for refuses it.
    Asked once more on a page of its own (it works without JavaScript), then recorded."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    code = request.form.get("code", "")
    try:
        if request.form.get("confirm") == "yes":
            services.object_to_space(code)
            return render("accounts/objected.html")
        invitation = services.objectable_invitation(code)
    except UserError as exc:
        return _form_error("accounts/join.html", "accounts/_join.html", exc,
                           form=request.form, invitation=None)
    return render("accounts/object.html", code=code, invitation=invitation)


@bp.post("/join/passkey/options")
@limiter.limit(_ceremony_limit)
def join_options():
    body = _json_body()
    options = ceremony.begin_join(
        str(body.get("code") or ""), display_name=str(body.get("display_name") or ""),
        email=str(body.get("email") or ""),
    )
    return jsonify(publicKey=options)


@bp.post("/join/passkey")
@limiter.limit(_ceremony_limit)
def join_verify():
    body = _json_body()
    user = ceremony.finish_join(body.get("credential"), language=_locale(),
                                timezone=_timezone(), user_agent=request.user_agent.string)
    services.start_session(user)
    flash(_("Welcome, %(name)s. Your account is ready.", name=user.display_name), "success")
    return jsonify(redirect=url_for("core.home"))
