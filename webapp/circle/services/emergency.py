"""Emergency access ("break the glass"), the patient's notices about it, and the summary it
opens."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ... import audit, policy
from ...accounts.models import User
from ...errors import Forbidden, NotFound, UserError
from ...extensions import db
from ..models import (
    EMERGENCY_HOURS,
    CircleSettings,
    EmergencyAccess,
    Notice,
)
from .access import active_emergency
from .common import _emit_after_commit, _patient_only, now
from .grants import grants_of

MIN_REASON = 10


def set_emergency_allowed(patient: User, allowed: bool) -> None:
    _patient_only(patient)
    settings = db.session.get(CircleSettings, patient.id)
    if settings is None:
        settings = CircleSettings(patient_id=patient.id)
        db.session.add(settings)
    if settings.emergency_access_allowed != allowed:
        settings.emergency_access_allowed = allowed
        audit.record(patient, patient, "allow" if allowed else "forbid", "settings", "emergency")
    db.session.commit()
    if not allowed:
        for access in db.session.scalars(
            db.select(EmergencyAccess).where(EmergencyAccess.patient_id == patient.id,
                                             EmergencyAccess.ends_at > now())
        ):
            _emit_after_commit(patient.id, access.professional_id)


def open_emergency(professional_user: User, patient: User, reason: str) -> EmergencyAccess:
    """Break the glass: the summary for EMERGENCY_HOURS, recorded and notified. Commits."""
    if not policy.can(professional_user, "circle.find_patient"):
        raise Forbidden(_("Only a health professional can use emergency access."))
    if not policy.can(professional_user, "circle.contact_patient", patient):
        raise NotFound(_("No patient you can contact has this email address."))
    if not policy.can(professional_user, "circle.emergency", patient):
        raise Forbidden(_("This patient has switched emergency access off."))
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        raise UserError(_("Describe the emergency (at least %(n)d characters).", n=MIN_REASON),
                        field="reason")
    if len(reason) > 1000:
        raise UserError(_("Keep the reason under 1000 characters."), field="reason")
    at = now()
    row = active_emergency(patient.id, professional_user.id)
    if row is None:
        row = EmergencyAccess(patient_id=patient.id, professional_id=professional_user.id,
                              reason=reason, started_at=at,
                              ends_at=at + timedelta(hours=EMERGENCY_HOURS))
        db.session.add(row)
        db.session.flush()
    audit.record(professional_user, patient, "open", "emergency", row.id, emergency=True)
    with force_locale(patient.language or "fr"):
        text = _("%(name)s opened your summary with emergency access: “%(reason)s”",
                 name=professional_user.display_name, reason=reason[:300])
    db.session.add(Notice(user_id=patient.id, kind="emergency", text=text[:500],
                          url="/circle/activity"))
    db.session.commit()
    _push_emergency_notice(patient, professional_user)
    return row


def _push_emergency_notice(patient: User, professional_user: User) -> None:
    """A push to the patient's devices if the push domain is there. Never fails the access."""
    try:
        from ...push import services as push
    except ImportError:
        return
    send = getattr(push, "send", None)
    if send is None:
        return
    try:
        shows = push.shows_details(patient)
    except Exception:
        shows = False
    with force_locale(patient.language or "fr"):
        title = _("Emergency access to your space")
        body = (_("%(name)s opened your summary in an emergency.",
                  name=professional_user.display_name) if shows
                else _("Someone opened your summary in an emergency."))
    try:
        send(patient, {"title": title, "body": body, "url": "/circle/activity",
                       "tag": "emergency-access", "kind": "message", "actions": [], "data": {}},
             ttl=24 * 3600, urgency="high", topic="emergency-access")
    except Exception:  # push is best effort; the in-app notice is always there
        current_app.logger.exception("emergency push failed")


def unread_notices(user: User) -> list[Notice]:
    return list(db.session.scalars(
        db.select(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
        .order_by(Notice.created_at.desc()).limit(5)
    ))


def mark_notice_read(user: User, notice_id: int) -> None:
    row = db.session.get(Notice, notice_id)
    if not policy.can(user, "notice.read", row):
        raise NotFound(_("This notice does not exist."))
    row.read_at = row.read_at or now()
    db.session.commit()


# ---- The summary (what emergency access and the summary scope open) ------------------------

def summary_of(patient: User) -> dict:
    """The patient's summary: identity and care team. Read through policy, recorded by caller."""
    team = [g for g in grants_of(patient) if g.is_active(now()) and g.grantee.is_professional]
    return {"patient": patient, "team": team}
