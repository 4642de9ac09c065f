"""Invitations: the one-time code a patient gives a relative, and redeeming it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _

from ... import audit, policy
from ...accounts.models import Role, User
from ...errors import Forbidden, Gone, UserError
from ...extensions import db
from ..models import (
    INVITATION_DAYS,
    Grant,
    Invitation,
)
from .common import _own, _patient_only, now
from .grants import grant

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
    if not policy.can(relative, "circle.redeem_invitation", patient):  # the space was closed
        raise Gone(_("This invitation no longer works. Ask the person who gave it to you."))
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


def new_relative_account(display_name: str, email: str, password: str,
                         language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create a relative's account for someone redeeming an invitation (caller commits).
    The account speaks the language the page was shown in."""
    from ...accounts import services as accounts

    return accounts.create_user(email=email, display_name=display_name, role=Role.RELATIVE,
                                password=password, language=language, timezone=timezone)
