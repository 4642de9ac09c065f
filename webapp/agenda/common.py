"""What every part of the agenda shares: limits, the clock, the user's zone, the history row,
form checks, and the patient a person works on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import audit, policy
from ..accounts.models import User
from ..errors import Gone, NotFound, UserError
from ..extensions import db
from ..i18n import number
from . import recurrence

MAX_TITLE = 200
MAX_PLACE = 300
MAX_NOTES = 4000
MAX_WITH = 200
MAX_OFFSETS = 5
MAX_OFFSET_MINUTES = 30 * 24 * 60
MAX_APPOINTMENT_HOURS = 24 * 7
DEFAULT_OFFSETS = (1440, 60)
SNOOZE_MINUTES = 10
WATCH_DELAYS = (15, 30, 60, 90, 120, 180, 240)
DEFAULT_WATCH_DELAY = 60
# Deliveries are prepared this far ahead; the worker keeps the horizon moving.
HORIZON = timedelta(hours=36)
# After a long stop, occurrences this far back are recorded as missed; older ones are not.
CATCH_UP = timedelta(days=7)
WATCH_WINDOW = timedelta(hours=3)
SNOOZE_WINDOW = timedelta(minutes=30)
KIND_WINDOWS = {"medication": 60, "measurement": 120, "vaccination": 720, "screening": 720}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def user_tz(user: User | None) -> str:
    if user is not None and getattr(user, "timezone", None):
        return user.timezone
    return current_app.config.get("DEFAULT_TIMEZONE", "Europe/Paris")


def audit_action(actor: User, patient: User, action: str, object_type: str, object_id=None) -> None:
    """One history row for anyone but the patient (and the patient's own writes)."""
    if actor.id != patient.id or action != "read":
        audit.record(actor, patient, action, object_type, object_id,
                     on_behalf_of=patient if actor.id != patient.id else None)


def clean_text(value, limit: int, field: str, label: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise UserError(_("Please give %(what)s.", what=label), field=field)
    if len(value) > limit:
        raise UserError(_("%(what)s is too long (at most %(n)s characters).",
                          what=label.capitalize(), n=number(limit)), field=field)
    if "\x00" in value:
        raise UserError(_("%(what)s contains characters that are not allowed.",
                          what=label.capitalize()), field=field)
    return value


def parse_local_datetime(value: str | None, tz: str, field: str) -> datetime:
    """A `datetime-local` form value in the user's zone → naive UTC."""
    value = (value or "").strip()
    if not value:
        raise UserError(_("Please give a date and time."), field=field)
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(_("“%(value)s” is not a date and time.", value=value[:20]),
                        field=field) from None
    if local.tzinfo is not None:
        local = local.astimezone(recurrence.zone(tz)).replace(tzinfo=None)
    if not 2000 <= local.year <= 2100:
        raise UserError(_("Please give a date between 2000 and 2100."), field=field)
    local = local.replace(second=0, microsecond=0)
    utc = recurrence.to_utc(local, tz)
    if recurrence.to_local(utc, tz) != local:
        # The hour skipped when the clocks go forward: it would silently become another time.
        raise UserError(_("%(time)s does not exist on that day: the clocks go forward. "
                          "Please choose another time.", time=f"{local:%H:%M}"), field=field)
    return utc



# ---- The patient a person works on --------------------------------------------------------

def acting_patient(user: User) -> User | None:
    from ..circle import services as circle

    return circle.acting_for(user)


def circle_professionals(patient: User) -> list[User]:
    """Professionals of the patient's circle who can see the patient's agenda."""
    from ..circle.models import Grant

    ids = db.session.scalars(
        select(Grant.grantee_id).where(Grant.patient_id == patient.id)
    ).all()
    if not ids:
        return []
    pros = db.session.scalars(
        select(User).where(User.id.in_(ids), User.role == "professional")
        .order_by(User.display_name)
    ).all()
    return [p for p in pros if policy.can(p, "agenda.read", patient)]


class Deleted(Gone):
    """What was asked for existed and was deleted (410): said only to someone who may read
    that patient's agenda; anyone else gets the plain "does not exist"."""


def deleted_from(actor: User, object_type: str, object_id: int) -> User | None:
    """The patient whose `object_type` `object_id` the access history records as deleted,
    among the patients whose agenda `actor` may read (ids are never given again, so the row
    names that very item). None when there is no such row or it is not the actor's to know."""
    from .. import audit
    from ..circle import services as circle

    readable = {p.id: p for p in circle.patients_for(actor, "agenda")}
    if not readable:
        return None
    return readable.get(audit.where_deleted(readable, object_type, object_id))


def get_checked(actor: User, model, object_id: int, action: str, object_type: str,
                missing: str, audit_read: bool = False, deleted: str | None = None):
    """The appointment or reminder `object_id` if `actor` may do `action` on it; reading it
    leaves a history row when asked (`audit_read`). Gone: `deleted` (410) when the history
    shows it was deleted from an agenda the actor may read, else `missing` (404)."""
    found = db.session.get(model, object_id)
    if found is None:
        if deleted and deleted_from(actor, object_type, object_id) is not None:
            raise Deleted(deleted)
        raise NotFound(missing)
    policy.require(actor, action, found)
    if audit_read:
        audit_action(actor, found.patient, "read", object_type, found.id)
        db.session.commit()
    return found
