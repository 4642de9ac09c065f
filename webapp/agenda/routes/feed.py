"""The calendar feed: the page that shows, creates, regenerates or revokes a person's secret
calendar link, and the .ics file served at that link (no session; the token is the key)."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import policy
from ...accounts.fresh import fresh_auth_required
from ...extensions import limiter
from ...htmx import render
from .. import bp, ics, services


def _feed_page(**extra):
    feed = services.feed_of(current_user)
    url = url_for("agenda.feed", token=services.feed_token(feed), _external=True) if feed else None
    return render("agenda/calendar.html", "agenda/_calendar.html", feed=feed, feed_url=url,
                  webcal_url=("webcal://" + url.split("://", 1)[1]) if url else None, **extra)


@bp.get("/calendar")
@login_required
def calendar():
    policy.require(current_user, "agenda.feed", None)
    return _feed_page()


@bp.post("/calendar")
@login_required
@fresh_auth_required
def create_feed():
    services.create_or_regenerate_feed(current_user, request.form.get("show_details") == "1")
    return _feed_page(notice=_("Your calendar link is ready. The previous link, if any, no "
                               "longer works."))


@bp.post("/calendar/revoke")
@login_required
def revoke_feed():
    services.revoke_feed(current_user)
    return _feed_page(notice=_("The calendar link was switched off."))


@bp.get("/calendar/<token>.ics")
@limiter.limit("30 per minute")
def feed(token: str):
    feed_row = services.feed_by_token(token)
    body = ics.build(feed_row, services.feed_entries(feed_row))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="health-space.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response
