"""HTTP views (thin): parse, ask services, render.

Everything here is about the signed-in person's own devices and settings, except two endpoints
the service worker calls without a CSRF token (it has none): the test notification's "It works"
action (authenticated by its signed token) and the subscription renewal (authenticated by the
old subscription's endpoint and secret, which only that browser and this server know).
"""

from __future__ import annotations

import time

from flask import (
    current_app,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from .. import policy
from ..accounts.fresh import safe_next
from ..core.banners import Banner, banner_provider
from ..errors import UserError
from ..extensions import csrf, limiter
from ..htmx import render, wants_fragment
from . import bp, services, vapid


def _per_user() -> str:
    # Signed-in limits count per person, not per address (a family shares one home IP).
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise UserError(_("The request could not be understood."))
    return data


def _context(**extra) -> dict:
    policy.require(current_user, "account.manage_self", current_user)
    return {
        "devices": services.devices(current_user),
        "show_details": services.shows_details(current_user),
        "fingerprint": services.endpoint_fingerprint,
        "is_failing": services.is_failing,
        "application_server_key": vapid.application_server_key(),
        **extra,
    }


@bp.get("/")
@login_required
def settings():
    return render("push/settings.html", **_context())


@bp.get("/devices")
@login_required
def device_list():
    return render("push/settings.html", "push/_devices.html", **_context())


@bp.post("/subscriptions")
@login_required
@limiter.limit("30 per minute", key_func=_per_user)
def subscribe():
    policy.require(current_user, "account.manage_self", current_user)
    sub = services.subscribe(current_user, _json_body(), request.headers.get("User-Agent"))
    services.remember_for_session(sub)
    return jsonify(id=sub.id, label=sub.label), 201


@bp.post("/subscriptions/unsubscribe")
@login_required
def unsubscribe():
    policy.require(current_user, "account.manage_self", current_user)
    removed = services.unsubscribe(current_user, _json_body().get("endpoint"))
    return jsonify(removed=removed)


@bp.post("/subscriptions/renew")
@csrf.exempt
@limiter.limit("30 per minute")
def renew():
    data = _json_body()
    renewed = services.renew(data.get("old_endpoint"), data.get("old_auth"),
                             data.get("subscription"))
    if not renewed:
        return jsonify(error=_("This subscription is not known.")), 404
    return jsonify(renewed=True)


@bp.post("/devices/<int:subscription_id>/remove")
@login_required
def remove_device(subscription_id: int):
    services.remove_device(current_user, subscription_id)
    return render("push/settings.html", "push/_devices.html",
                  **_context(notice=_("The device was removed.")))


@bp.post("/preferences")
@login_required
def preferences():
    policy.require(current_user, "account.manage_self", current_user)
    services.set_show_details(current_user, request.form.get("show_details") == "on")
    return render("push/settings.html", "push/_preferences.html", **_context(saved=True))


@bp.post("/test")
@login_required
@limiter.limit("6 per minute", key_func=_per_user)
def send_test():
    policy.require(current_user, "account.manage_self", current_user)
    if not services.has_subscription(current_user):
        # The list above already says no device receives them: say only what to do.
        result = _("Turn on notifications on this device first.")
    else:
        sent = services.send_test(current_user)
        if sent:
            result = ngettext("Test notification sent to %(num)d device.",
                              "Test notification sent to %(num)d devices.", sent)
        else:
            result = _("No device accepted the test notification. Try turning notifications "
                       "off and on again on that device.")
    return render("push/settings.html", "push/_devices.html", **_context(test_result=result))


@bp.post("/test/confirm")
@csrf.exempt
@limiter.limit("30 per minute")
def confirm_test():
    data = _json_body()
    if not services.confirm_test(data.get("action"), data.get("token")):
        return jsonify(error=_("This notification has expired.")), 400
    return jsonify(confirmed=True)


# ---- The banner: "Notifications are not turned on on any of your devices" -----------------
#
# On the home page, for people who count on notifications (services.device_warning: a domain
# registered what they would be notified of) and have no device that receives them. "Not now"
# hides it for a week for that person on that browser (a cookie: signing in again does not
# bring it back the next morning, nor does a session that lasts months keep it away); a device
# that receives them hides it for good.

BANNER_COOKIE = "hs_push_later"  # "<user id>:<until, epoch seconds>"
HIDE_DAYS = 7


def _hidden_for(user) -> bool:
    user_id, _sep, until = request.cookies.get(BANNER_COOKIE, "").partition(":")
    return user_id == str(user.id) and until.isdigit() and int(until) > time.time()


@banner_provider
def no_device_banner(user) -> list[Banner]:
    # On the home page only, where the day starts (on every page it took half a small phone's
    # screen in large text); one query at most, none for a fragment.
    if (not has_request_context() or wants_fragment() or request.endpoint != "core.home"
            or _hidden_for(user)):
        return []
    warning = services.device_warning(user)
    if warning is None:
        return []
    if warning == services.FAILING:
        text, link = (_("Notifications no longer reach any of your devices: you could miss a "
                        "message or a reminder."), _("Check notifications"))
    else:
        text, link = (_("Notifications are not turned on on any of your devices: you could "
                        "miss a message or a reminder."), _("Turn on notifications"))
    return [Banner("push", text, link=(url_for("push.settings"), link),
                   dismiss=(url_for("push.hide_banner"), _("Not now"),
                            _("Not now: hide this message for a week")))]


@bp.post("/banner/hide")
@login_required
def hide_banner():
    """ "Not now": no banner about devices for a week, for this person on this browser."""
    policy.require(current_user, "account.manage_self", current_user)
    if request.htmx:
        response = make_response("")  # the banner is swapped for nothing
    else:
        response = redirect(safe_next(request.form.get("next")) or url_for("core.home"))
    seconds = HIDE_DAYS * 86400
    response.set_cookie(BANNER_COOKIE, f"{current_user.id}:{int(time.time()) + seconds}",
                        max_age=seconds, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response
