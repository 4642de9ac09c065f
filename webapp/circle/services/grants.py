"""Grants: what a patient gives a relative or professional (scopes, an optional end date),
changing and revoking it, and the expiry sweep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _

from ... import audit, policy
from ...accounts.models import User
from ...errors import Conflict, Gone, NotFound, UserError
from ...extensions import db
from ..models import (
    SCOPES,
    EmergencyAccess,
    Grant,
    format_scopes,
)
from .access import grant_between, is_blocked
from .common import _emit_after_commit, _own, _patient_only, now

# ---- Validation ----------------------------------------------------------------------------

def clean_scopes(values) -> str:
    """Known scopes only; an unknown one is refused (never silently dropped)."""
    chosen = [v.strip() for v in (values or []) if v and v.strip()]
    unknown = [v for v in chosen if v not in SCOPES]
    if unknown:
        raise UserError(_("Unknown kind of access: %(scope)s.", scope=unknown[0][:40]),
                        field="scopes")
    if not chosen:
        raise UserError(_("Choose at least one kind of access."), field="scopes")
    return format_scopes(chosen)


def parse_end_date(text: str | None, tz_name: str) -> datetime | None:
    """An optional last day of access (YYYY-MM-DD, in the patient's zone) -> UTC end instant."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UserError(_("Please give the end date as a date (YYYY-MM-DD)."),
                        field="ends_on") from None
    zone = _zone(tz_name)
    # Access lasts through the whole chosen day, local time.
    local_end = (day + timedelta(days=1)).replace(tzinfo=zone)
    ends_at = local_end.astimezone(UTC).replace(tzinfo=None)
    if ends_at <= now():
        raise UserError(_("The end date must be today or later."), field="ends_on")
    if ends_at > now() + timedelta(days=366 * 5):
        raise UserError(_("The end date must be within five years."), field="ends_on")
    return ends_at


def last_day(ends_at: datetime | None, tz_name: str) -> date | None:
    """The last local day of access: the inverse of parse_end_date (ends_at is the exclusive
    UTC end, the midnight after that day in the patient's zone)."""
    if ends_at is None:
        return None
    zone = _zone(tz_name)
    local = ends_at.replace(tzinfo=UTC).astimezone(zone) - timedelta(seconds=1)
    return local.date()


def _zone(tz_name: str | None):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(tz_name or "Europe/Paris")
    except Exception:  # an unknown zone name stored on an account: fall back, do not 500
        return ZoneInfo("Europe/Paris")


# ---- Grants --------------------------------------------------------------------------------

def grant(patient: User, grantee: User, scopes: str, ends_at: datetime | None) -> Grant:
    """Give (or give again, or change) a grantee's access. Caller commits."""
    _patient_only(patient)
    if grantee.id == patient.id:
        raise UserError(_("You already have full access to your own space."))
    if not policy.can(grantee, "circle.hold_grant", patient):
        raise UserError(_("Access can be given only to a relative or a health professional."))
    if grantee.is_professional and is_blocked(patient.id, grantee.id):
        raise Conflict(_("You blocked this professional. Unblock them first."))
    row = grant_between(patient.id, grantee.id)
    if row is None:
        row = Grant(patient_id=patient.id, grantee_id=grantee.id, scopes=scopes, ends_at=ends_at)
        db.session.add(row)
        db.session.flush()
    else:
        row.scopes, row.ends_at, row.revoked_at = scopes, ends_at, None
        row.updated_at, row.expiry_signalled_at = now(), None
    return row


def give_access(patient: User, grantee_id: int, scopes: str, ends_at: datetime | None) -> Grant:
    """The patient adds a professional (from the directory) to their circle. Commits."""
    _patient_only(patient)
    grantee = db.session.get(User, grantee_id)
    if grantee is not None and grantee.id == patient.id:
        raise UserError(_("You already have full access to your own space."))
    if grantee is None or not grantee.is_professional or not grantee.is_active:
        raise NotFound(_("This professional does not exist."))
    row = grant(patient, grantee, scopes, ends_at)
    audit.record(patient, patient, "grant", "grant", row.id)
    db.session.commit()
    return row


def _own_grant(patient: User, grant_id: int) -> Grant:
    return _own(patient, Grant, grant_id, _("This access does not exist."))


def change_grant(patient: User, grant_id: int, scopes: str, ends_at: datetime | None) -> Grant:
    """Narrow or extend a grant: new scopes and end date. Commits, then signals if narrowed."""
    _patient_only(patient)
    row = _own_grant(patient, grant_id)
    if row.revoked_at is not None:
        raise Gone(_("This access was revoked. Give it again from your circle."))
    before, before_end = row.scope_set, row.ends_at
    row.scopes, row.ends_at, row.updated_at = scopes, ends_at, now()
    if ends_at is None or ends_at > now():
        row.expiry_signalled_at = None
    audit.record(patient, patient, "change", "grant", row.id)
    db.session.commit()
    narrowed = not before <= row.scope_set or (
        ends_at is not None and (before_end is None or ends_at < before_end))
    if narrowed:
        _emit_after_commit(patient.id, row.grantee_id)
    return row


def revoke_grant(patient: User, grant_id: int) -> Grant:
    _patient_only(patient)
    row = _own_grant(patient, grant_id)
    if row.revoked_at is None:
        row.revoked_at = now()
        audit.record(patient, patient, "revoke", "grant", row.id)
        db.session.commit()
        _emit_after_commit(patient.id, row.grantee_id)
    return row


def grants_of(patient: User) -> list[Grant]:
    """The patient's grants in force or ended (not revoked), relatives first then by name."""
    rows = db.session.scalars(
        db.select(Grant).join(User, User.id == Grant.grantee_id)
        .where(Grant.patient_id == patient.id, Grant.revoked_at.is_(None))
        .order_by(User.role.desc(), User.display_name)
    ).all()
    return list(rows)


def listed_grant(patient: User, grant_id: int) -> Grant | None:
    """One of the grants grants_of lists (the patient's, not revoked), or None."""
    return db.session.scalar(
        db.select(Grant).where(Grant.id == grant_id, Grant.patient_id == patient.id,
                               Grant.revoked_at.is_(None)))


def sweep_expired(at: datetime | None = None) -> int:
    """Signal access_changed for grants and emergency accesses whose end passed since the last
    sweep (policy already denies them; this lets live connections be cut too)."""
    at = at or now()
    lapsed = db.session.scalars(
        db.select(Grant).where(Grant.revoked_at.is_(None), Grant.ends_at.is_not(None),
                               Grant.ends_at <= at, Grant.expiry_signalled_at.is_(None))
    ).all()
    ended = db.session.scalars(
        db.select(EmergencyAccess).where(EmergencyAccess.ends_at <= at,
                                         EmergencyAccess.expiry_signalled_at.is_(None))
    ).all()
    pairs = [(g.patient_id, g.grantee_id) for g in lapsed]
    pairs += [(e.patient_id, e.professional_id) for e in ended]
    for row in [*lapsed, *ended]:
        row.expiry_signalled_at = at
    db.session.commit()
    for patient_id, grantee_id in pairs:
        _emit_after_commit(patient_id, grantee_id)
    return len(pairs)


def cut_live_access(patient: User, **_extra) -> int:
    """accounts' space_closed: policy already refuses everyone the closed space; signal
    access_changed for each person who had access to it, so their live connections are cut at
    once too. The grants themselves are kept: reopening the space gives them back."""
    grantees = set(db.session.scalars(
        db.select(Grant.grantee_id).where(Grant.patient_id == patient.id)))
    grantees |= set(db.session.scalars(
        db.select(EmergencyAccess.professional_id)
        .where(EmergencyAccess.patient_id == patient.id)))
    for grantee_id in sorted(grantees):
        _emit_after_commit(patient.id, grantee_id)
    return len(grantees)


def connect_signals() -> None:
    from ...accounts.signals import space_closed

    space_closed.connect(cut_live_access, weak=False)
