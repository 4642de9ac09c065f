"""Every write about the care circle and every query other domains need from it.

For other domains:
  patients_for(user, scope=None) -> list[User]   the patients whose `scope` the user can reach
  acting_for(user) -> User | None                the patient the user currently acts for
  active_grant(patient_id, grantee_id) -> Grant | None
  active_emergency(patient_id, professional_id), is_blocked(…), emergency_allowed(patient_id)
These answer data questions only: every access decision (who may read a scope, act for a
patient, manage a grant) is made by webapp.policy, which reads these helpers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, has_request_context, session
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_

from .. import audit, policy
from ..accounts.models import Role, User
from ..errors import Conflict, Forbidden, Gone, NotFound, UserError
from ..extensions import db
from .models import (
    EMERGENCY_HOURS,
    INVITATION_DAYS,
    SCOPES,
    AccessRequest,
    Block,
    CircleSettings,
    EmergencyAccess,
    Grant,
    Invitation,
    Notice,
    format_scopes,
)
from .signals import access_changed

SESSION_KEY = "acting_for"


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ---- Reading the circle (used by policy and by other domains) -----------------------------

def _active_clause(at: datetime):
    return and_(Grant.revoked_at.is_(None), or_(Grant.ends_at.is_(None), Grant.ends_at > at))


def active_grant(patient_id: int, grantee_id: int) -> Grant | None:
    """The grantee's grant from this patient if it is in force now (professional not blocked)."""
    grant = db.session.scalar(
        db.select(Grant).where(Grant.patient_id == patient_id, Grant.grantee_id == grantee_id,
                               _active_clause(now()))
    )
    if grant is None or is_blocked(patient_id, grantee_id):
        return None
    return grant


def grant_between(patient_id: int, grantee_id: int) -> Grant | None:
    """The grant row whatever its state (revoked, expired, active)."""
    return db.session.scalar(
        db.select(Grant).where(Grant.patient_id == patient_id, Grant.grantee_id == grantee_id)
    )


def is_blocked(patient_id: int, professional_id: int) -> bool:
    return db.session.scalar(
        db.select(Block.id).where(Block.patient_id == patient_id,
                                  Block.professional_id == professional_id)
    ) is not None


def emergency_allowed(patient_id: int) -> bool:
    settings = db.session.get(CircleSettings, patient_id)
    return settings is None or settings.emergency_access_allowed


def active_emergency(patient_id: int, professional_id: int) -> EmergencyAccess | None:
    at = now()
    if is_blocked(patient_id, professional_id) or not emergency_allowed(patient_id):
        return None
    return db.session.scalar(
        db.select(EmergencyAccess)
        .where(EmergencyAccess.patient_id == patient_id,
               EmergencyAccess.professional_id == professional_id,
               EmergencyAccess.started_at <= at, EmergencyAccess.ends_at > at)
        .order_by(EmergencyAccess.ends_at.desc())
        .limit(1)
    )


def _candidate_patients(user: User) -> list[User]:
    """Everyone whose data this user might reach: themself, the patients whose grant to them
    is in force, those whose summary they opened in an emergency (policy has the last word)."""
    at = now()
    found = {user.id: user}
    for grant in db.session.scalars(
        db.select(Grant).where(Grant.grantee_id == user.id, _active_clause(at))
    ):
        found.setdefault(grant.patient_id, grant.patient)
    for access in db.session.scalars(
        db.select(EmergencyAccess).where(EmergencyAccess.professional_id == user.id,
                                         EmergencyAccess.started_at <= at,
                                         EmergencyAccess.ends_at > at)
    ):
        found.setdefault(access.patient_id, access.patient)
    return list(found.values())


def patients_for(user: User, scope: str | None = None) -> list[User]:
    """The patients whose `scope` (any scope when None) this user can reach now, by name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    action = f"{scope}.read" if scope else "circle.reach"
    reachable = [p for p in _candidate_patients(user) if policy.can(user, action, p)]
    return sorted(reachable, key=lambda p: p.display_name.lower())


def acting_for(user: User) -> User | None:
    """The patient this user acts for now: a patient acts for themself; a relative or a
    professional for the patient chosen with the switch (kept in the session), or for their
    only patient. None when they have none (or the chosen one's access has ended)."""
    reachable = patients_for(user)
    chosen = session.get(SESSION_KEY) if has_request_context() else None
    if chosen is not None:
        for patient in reachable:
            if patient.id == chosen:
                return patient
        session.pop(SESSION_KEY, None)
    if len(reachable) == 1:
        return reachable[0]
    return None


def switch_acting_for(user: User, patient_id: int | None) -> User | None:
    """Choose the patient to act for (None: stop acting for anyone)."""
    if patient_id is None:
        session.pop(SESSION_KEY, None)
        return None
    for patient in patients_for(user):
        if patient.id == patient_id:
            session[SESSION_KEY] = patient.id
            return patient
    raise Forbidden(_("You cannot act for this person."))


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
    from zoneinfo import ZoneInfo

    try:
        zone = ZoneInfo(tz_name or "Europe/Paris")
    except Exception:  # an unknown zone name stored on an account: fall back, do not 500
        zone = ZoneInfo("Europe/Paris")
    # Access lasts through the whole chosen day, local time.
    local_end = (day + timedelta(days=1)).replace(tzinfo=zone)
    ends_at = local_end.astimezone(UTC).replace(tzinfo=None)
    if ends_at <= now():
        raise UserError(_("The end date must be today or later."), field="ends_on")
    if ends_at > now() + timedelta(days=366 * 5):
        raise UserError(_("The end date must be within five years."), field="ends_on")
    return ends_at


def _patient_only(patient: User) -> None:
    if not policy.can(patient, "circle.manage", patient):
        raise Forbidden(_("Only a patient can manage who has access to their space."))


def _own(patient: User, model, row_id: int, missing: str):
    """A row of the patient's circle (grant, invitation, request, block) by id; another
    patient's row does not exist for them."""
    row = db.session.get(model, row_id)
    if not policy.can(patient, "circle.manage_item", row):
        raise NotFound(missing)
    return row


# ---- Grants --------------------------------------------------------------------------------

def _emit_after_commit(patient_id: int, grantee_id: int) -> None:
    """Tell listeners (the chat's live sockets) once the change is visible to everyone."""
    access_changed.send(current_app._get_current_object() if current_app else None,
                        patient_id=patient_id, grantee_id=grantee_id)


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


# ---- Invitations ---------------------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on phones
CODE_LENGTH = 10


def _hash_code(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normalise_code(code).encode(), hashlib.sha256).hexdigest()


def normalise_code(code: str | None) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:64]


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def create_invitation(patient: User, label: str, scopes: str,
                      grant_ends_at: datetime | None) -> tuple[Invitation, str]:
    """A one-time code for a relative, valid INVITATION_DAYS. Returns (row, code); only the
    code's keyed hash is stored, so the code can be shown once."""
    _patient_only(patient)
    label = (label or "").strip()
    if not label or len(label) > 120:
        raise UserError(_("Say who the invitation is for (at most 120 characters)."),
                        field="label")
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    row = Invitation(patient_id=patient.id, code_hash=_hash_code(code), label=label,
                     scopes=scopes, grant_ends_at=grant_ends_at,
                     expires_at=now() + timedelta(days=INVITATION_DAYS))
    db.session.add(row)
    db.session.flush()
    audit.record(patient, patient, "invite", "invitation", row.id)
    db.session.commit()
    return row, code


def pending_invitations(patient: User) -> list[Invitation]:
    at = now()
    return list(db.session.scalars(
        db.select(Invitation).where(Invitation.patient_id == patient.id,
                                    Invitation.used_at.is_(None),
                                    Invitation.cancelled_at.is_(None),
                                    Invitation.expires_at > at)
        .order_by(Invitation.created_at.desc())
    ))


def cancel_invitation(patient: User, invitation_id: int) -> None:
    _patient_only(patient)
    row = _own(patient, Invitation, invitation_id, _("This invitation does not exist."))
    if row.cancelled_at is None and row.used_at is None:
        row.cancelled_at = now()
        audit.record(patient, patient, "cancel", "invitation", row.id)
        db.session.commit()


def find_invitation(code: str) -> Invitation:
    """The pending invitation for this code, or a clear refusal (forged, used, expired)."""
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        raise UserError(_("This invitation code is not valid. Check it and try again."),
                        field="code")
    row = db.session.scalar(db.select(Invitation).filter_by(code_hash=_hash_code(code)))
    if row is None:
        raise UserError(_("This invitation code is not valid. Check it and try again."),
                        field="code")
    if row.used_at is not None:
        raise Gone(_("This invitation has already been used. Ask for a new one."))
    if row.cancelled_at is not None:
        raise Gone(_("This invitation was cancelled. Ask for a new one."))
    if row.expires_at <= now():
        raise Gone(_("This invitation has expired. Ask for a new one."))
    return row


def accept_invitation(relative: User, code: str) -> Grant:
    """The relative redeems the code: the grant is created, the code is spent. Commits."""
    invitation = find_invitation(code)
    if not policy.can(relative, "circle.redeem_invitation"):
        raise Forbidden(_("Invitations are for relatives. Sign in with a relative's account."))
    patient = invitation.patient
    if relative.id == patient.id:
        raise UserError(_("You cannot invite yourself."))
    # Spend the code with a guarded UPDATE: of two simultaneous redemptions only one wins.
    spent = db.session.execute(
        db.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now(), used_by_id=relative.id)
    ).rowcount
    if spent != 1:
        db.session.rollback()
        raise Gone(_("This invitation has already been used. Ask for a new one."))
    row = grant(patient, relative, invitation.scopes, invitation.grant_ends_at)
    audit.record(relative, patient, "accept", "invitation", invitation.id)
    db.session.commit()
    return row


# ---- Professionals: directory, requests, blocks -------------------------------------------

def directory(patient: User, query: str, limit: int = 20) -> list[User]:
    """Professionals matching name, profession, city or RPPS; the ones the patient blocked
    never appear."""
    words = [w for w in (query or "").strip().split() if w][:5]
    if not words or len("".join(words)) < 2:
        return []
    q = db.select(User).where(User.role == Role.PROFESSIONAL.value, User.active.is_(True))
    for word in words:
        like = f"%{word[:60].lower()}%"
        q = q.where(or_(db.func.lower(User.display_name).like(like),
                        db.func.lower(User.profession).like(like),
                        db.func.lower(User.city).like(like),
                        User.rpps == word))
    blocked = db.select(Block.professional_id).where(Block.patient_id == patient.id)
    q = q.where(User.id.not_in(blocked)).order_by(User.display_name).limit(limit)
    return list(db.session.scalars(q))


def professional(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_professional or not user.is_active:
        raise NotFound(_("This professional does not exist."))
    return user


def find_patient_for(professional_user: User, email: str) -> User:
    """A professional looks a patient up by their email address (exact), to ask for access
    or open the summary in an emergency. A patient who blocked them cannot be found."""
    from ..accounts.services import normalise_email

    email = normalise_email(email)
    if not email or "@" not in email:
        raise UserError(_("Enter the patient's email address."), field="email")
    patient = db.session.scalar(db.select(User).filter_by(email=email))
    if not policy.can(professional_user, "circle.contact_patient", patient):
        raise NotFound(_("No patient you can contact has this email address."))
    return patient


def request_access(professional_user: User, patient: User, scopes: str, note: str) -> AccessRequest:
    if not policy.can(professional_user, "circle.find_patient"):
        raise Forbidden(_("Only a health professional can ask for access."))
    if not policy.can(professional_user, "circle.request_access", patient):
        raise NotFound(_("No patient you can contact has this email address."))
    note = (note or "").strip()
    if len(note) > 500:
        raise UserError(_("Keep the note under 500 characters."), field="note")
    pending = db.session.scalar(
        db.select(AccessRequest).where(AccessRequest.patient_id == patient.id,
                                       AccessRequest.professional_id == professional_user.id,
                                       AccessRequest.decided_at.is_(None)))
    if pending is not None:
        raise Conflict(_("You already asked this patient; they have not answered yet."))
    row = AccessRequest(patient_id=patient.id, professional_id=professional_user.id,
                        scopes=scopes, note=note or None)
    db.session.add(row)
    db.session.commit()
    return row


def pending_requests(patient: User) -> list[AccessRequest]:
    blocked = db.select(Block.professional_id).where(Block.patient_id == patient.id)
    return list(db.session.scalars(
        db.select(AccessRequest).where(AccessRequest.patient_id == patient.id,
                                       AccessRequest.decided_at.is_(None),
                                       AccessRequest.professional_id.not_in(blocked))
        .order_by(AccessRequest.created_at)
    ))


def decide_request(patient: User, request_id: int, accept: bool) -> AccessRequest:
    _patient_only(patient)
    row = _own(patient, AccessRequest, request_id, _("This request does not exist."))
    if row.decided_at is not None:
        raise Gone(_("This request has already been answered."))
    row.decided_at, row.accepted = now(), accept
    if accept:
        given = grant(patient, row.professional, row.scopes, None)
        audit.record(patient, patient, "grant", "grant", given.id)
    else:
        audit.record(patient, patient, "decline", "request", row.id)
    db.session.commit()
    return row


def block(patient: User, professional_id: int) -> Block:
    """Shut a professional out. Their grant is revoked (unblocking restores nothing)."""
    _patient_only(patient)
    pro = professional(professional_id)
    existing = db.session.scalar(db.select(Block).filter_by(patient_id=patient.id,
                                                            professional_id=pro.id))
    if existing is not None:
        return existing
    row = Block(patient_id=patient.id, professional_id=pro.id)
    db.session.add(row)
    current = grant_between(patient.id, pro.id)
    if current is not None and current.revoked_at is None:
        current.revoked_at = now()
    for pending in db.session.scalars(
        db.select(AccessRequest).filter_by(patient_id=patient.id, professional_id=pro.id,
                                           decided_at=None)
    ):
        pending.decided_at, pending.accepted = now(), False
    db.session.flush()
    audit.record(patient, patient, "block", "block", row.id)
    db.session.commit()
    _emit_after_commit(patient.id, pro.id)
    return row


def unblock(patient: User, block_id: int) -> None:
    _patient_only(patient)
    row = _own(patient, Block, block_id, _("This block does not exist."))
    audit.record(patient, patient, "unblock", "block", row.id)
    db.session.delete(row)
    db.session.commit()


def blocks_of(patient: User) -> list[Block]:
    return list(db.session.scalars(
        db.select(Block).where(Block.patient_id == patient.id).order_by(Block.created_at)
    ))


# ---- Emergency access ----------------------------------------------------------------------

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
        from ..push import services as push
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


def patients_for_page(user: User) -> list[tuple[User, Grant | None, EmergencyAccess | None]]:
    rows = []
    for patient in patients_for(user):
        rows.append((patient, active_grant(patient.id, user.id),
                     active_emergency(patient.id, user.id) if user.is_professional else None))
    return rows


def new_relative_account(display_name: str, email: str, password: str,
                         language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create a relative's account for someone redeeming an invitation (caller commits).
    The account speaks the language the page was shown in."""
    from ..accounts import services as accounts

    return accounts.create_user(email=email, display_name=display_name, role=Role.RELATIVE,
                                password=password, language=language, timezone=timezone)


__all__ = [
    "acting_for", "active_emergency", "active_grant", "patients_for",
    "switch_acting_for", "EMERGENCY_HOURS", "INVITATION_DAYS",
]
