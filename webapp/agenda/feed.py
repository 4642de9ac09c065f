"""The calendar feed: a secret URL per person, regenerated or revoked at will, whose contents
are checked against the care circle at every fetch (ics.py writes the file)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import policy
from ..accounts.models import User
from ..errors import NotFound
from ..extensions import db
from ..ids import to_id
from .common import (
    audit_action,
    utcnow,
)
from .models import (
    Appointment,
    CalendarFeed,
)


def _feed_token(feed: CalendarFeed) -> str:
    mac = hmac.new(current_app.secret_key.encode(), f"agenda.feed:{feed.id}:{feed.nonce}".encode(),
                   hashlib.sha256).hexdigest()[:40]
    return f"{feed.id}-{mac}"


def feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def feed_token(feed: CalendarFeed) -> str:
    return _feed_token(feed)


def create_or_regenerate_feed(user: User, show_details: bool) -> CalendarFeed:
    """A new secret URL; the previous one stops working at once."""
    policy.require(user, "agenda.feed", None)
    feed = feed_of(user)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, created_at=utcnow())
        db.session.add(feed)
    feed.nonce = secrets.token_urlsafe(32)
    feed.show_details = bool(show_details)
    feed.created_at = utcnow()
    db.session.commit()
    return feed


def revoke_feed(user: User) -> None:
    policy.require(user, "agenda.feed", None)
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    db.session.commit()


def feed_by_token(token: str) -> CalendarFeed:
    """The feed this secret names; NotFound for anything else (revoked, regenerated, forged)."""
    token = (token or "").strip()
    head, _sep, _mac = token.partition("-")
    feed_id = to_id(head)
    if feed_id is None or len(token) > 80:
        raise NotFound(_("This calendar link does not exist."))
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or not hmac.compare_digest(_feed_token(feed), token):
        raise NotFound(_("This calendar link does not exist."))
    if not feed.user.is_active:
        raise NotFound(_("This calendar link does not exist."))
    return feed


def feed_entries(feed: CalendarFeed, now: datetime | None = None
                 ) -> list[tuple[User, list[Appointment]]]:
    """Appointments (30 days back, a year ahead) of every patient whose agenda the owner sees.

    Access is checked at every fetch: a revoked grant empties the feed at the next sync.
    Someone other than the patient reading it leaves one history row per patient.
    """
    from ..circle import services as circle

    now = now or utcnow()
    user = feed.user
    out = []
    for patient in circle.patients_for(user, "agenda"):
        if not policy.can(user, "agenda.read", patient):
            continue
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id,
                                      Appointment.status == "accepted",
                                      Appointment.starts_at >= now - timedelta(days=30),
                                      Appointment.starts_at < now + timedelta(days=366))
            .order_by(Appointment.starts_at)
        ).all()
        audit_action(user, patient, "read", "ics")
        out.append((patient, appointments))
    feed.last_fetched_at = now
    db.session.commit()
    return out
