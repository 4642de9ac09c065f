"""Professionals: the directory patients search, looking a patient up, access requests,
blocks."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_

from ... import audit, policy
from ...accounts.models import Role, User
from ...errors import Conflict, Forbidden, Gone, NotFound, UserError
from ...extensions import db
from ..models import (
    AccessRequest,
    Block,
)
from .access import grant_between
from .common import _emit_after_commit, _own, _patient_only, now
from .grants import grant


def directory(patient: User, query: str, limit: int = 20) -> list[User]:
    """Professionals matching name, profession, city or RPPS; the ones the patient blocked
    never appear. A profession is stored as a code: a word matches the codes whose name, in
    the reader's language or in English, contains it ("infirm" finds nurses)."""
    from ...accounts.professions import matching_codes

    words = [w for w in (query or "").strip().split() if w][:5]
    if not words or len("".join(words)) < 2:
        return []
    q = db.select(User).where(User.role == Role.PROFESSIONAL.value, User.active.is_(True))
    for word in words:
        like = f"%{word[:60].lower()}%"
        q = q.where(or_(db.func.lower(User.display_name).like(like),
                        db.func.lower(User.profession).like(like),
                        User.profession.in_(matching_codes(word[:60])),
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
    from ...accounts.services import normalise_email

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
    if pending_request_from(patient.id, professional_user.id) is not None:
        raise Conflict(_("You have already asked for access. The answer has not come yet."))
    row = AccessRequest(patient_id=patient.id, professional_id=professional_user.id,
                        scopes=scopes, note=note or None)
    db.session.add(row)
    db.session.commit()
    return row


def pending_request_from(patient_id: int, professional_id: int) -> AccessRequest | None:
    """This professional's request to this patient that is still waiting for an answer."""
    return db.session.scalar(
        db.select(AccessRequest).where(AccessRequest.patient_id == patient_id,
                                       AccessRequest.professional_id == professional_id,
                                       AccessRequest.decided_at.is_(None)))


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
