"""Invitation codes: created by an administrator (or by another domain, e.g. the care circle
for a relative), shown once, stored as a hash, single use, redeemed into a new account."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import update

from ... import policy
from ...errors import Conflict, Gone, NotFound, UserError
from ...extensions import db
from ..models import Invitation, Role, User
from ..signals import invitation_redeemed
from .common import (
    CODE_ALPHABET,
    CODE_LENGTH,
    INVITATION_DAYS,
    ensure_email_free,
    ensure_rpps_free,
    now,
    professional_details,
    validate_display_name,
    validate_email,
)
from .people import create_user


def normalise_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def create_invitation(*, role: Role | str, created_by: User | None, email: str | None = None,
                      profession: str | None = None, rpps: str | None = None,
                      context: dict | None = None,
                      days: int = INVITATION_DAYS) -> tuple[Invitation, str]:
    """Add (not commit) a single-use invitation; returns it and the code (shown once)."""
    role = Role(role)
    if email:
        email = validate_email(email)
    profession, rpps = professional_details(role, profession, rpps)
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    invitation = Invitation(
        code_hash=hash_code(code), role=role.value, email=email or None, profession=profession,
        rpps=rpps, context=context, created_by_id=created_by.id if created_by else None,
        expires_at=now() + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, format_code(code)


class Objected(Conflict):
    """A patient code for someone who objected to having a space: the administrator confirms
    first that the person has asked for one since."""

    def __init__(self, objection: Invitation):
        from flask_babel import format_date

        super().__init__(_("This person objected to having a space on %(date)s. Create a code "
                           "only if they have asked you for one since.",
                           date=format_date(objection.objected_at, "long")), field="email")
        self.objection = objection


def objection_for(email: str | None) -> Invitation | None:
    """The latest objection of the person with this email to having a space, if any."""
    if not email:
        return None
    return db.session.scalar(
        db.select(Invitation)
        .where(Invitation.email == validate_email(email), Invitation.objected_at.is_not(None))
        .order_by(Invitation.objected_at.desc()).limit(1))


def invite_by_admin(admin: User, *, role: str, email: str | None = None,
                    profession: str | None = None, rpps: str | None = None,
                    asked_since: bool = False) -> tuple[Invitation, str]:
    """`asked_since`: the administrator confirms that a person who objected to having a space
    has asked for one since (else their objection stands)."""
    policy.require(admin, "admin.invite")
    if role not in {r.value for r in Role}:
        raise UserError(_("Please choose a role from the list."), field="role")
    if role == Role.PATIENT.value and not asked_since:
        objection = objection_for(email)
        if objection is not None:
            raise Objected(objection)
    invitation, code = create_invitation(role=role, created_by=admin, email=email,
                                         profession=profession, rpps=rpps)
    db.session.commit()
    return invitation, code


def recent_invitations(admin: User, limit: int = 20) -> list[Invitation]:
    policy.require(admin, "admin.invite")
    return list(db.session.scalars(
        db.select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(limit)
    ))


def cancel_invitation(admin: User, invitation_id: int) -> Invitation:
    """Withdraw a code before anyone uses it: it stops working at once. Cancelling twice is
    harmless; a code already used cannot be cancelled (its account exists)."""
    policy.require(admin, "admin.invite")
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(_("This invitation code does not exist."))
    # Conditional, like the redemption: of a cancellation and a redemption racing for one
    # code, exactly one wins.
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None),
               Invitation.cancelled_at.is_(None), Invitation.objected_at.is_(None))
        .values(cancelled_at=now())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    if invitation.redeemed_at is not None:
        db.session.rollback()
        raise Conflict(_("This code has already been used: the account exists."))
    if invitation.objected_at is not None:
        db.session.rollback()
        raise Conflict(_("The person refused this space: the code already works no more."))
    db.session.commit()
    return invitation


def _check_redeemable(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise NotFound(_("This invitation code is not valid. Check it, or ask for a new one."),
                       field="code")
    if invitation.redeemed_at is not None:
        raise Gone(_("This invitation code has already been used."), field="code")
    if invitation.cancelled_at is not None:
        raise Gone(_("This invitation code was cancelled. Ask for a new one."), field="code")
    if invitation.objected_at is not None:
        raise Gone(_("You refused this space: it was not opened. If you change your mind, ask "
                     "for a new code."), field="code")
    if invitation.expires_at <= now():
        raise Gone(_("This invitation code has expired. Ask for a new one."), field="code")
    return invitation


def find_invitation(code: str) -> Invitation:
    """The invitation this code opens, if it can still be used; else a clear UserError."""
    if not normalise_code(code):
        raise UserError(_("Please enter your invitation code."), field="code")
    invitation = db.session.scalar(db.select(Invitation).filter_by(code_hash=hash_code(code)))
    return _check_redeemable(invitation)


def invitation_by_id(invitation_id) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id) if invitation_id else None
    return _check_redeemable(invitation)


def check_new_account(invitation: Invitation, *, display_name: str, email: str) -> dict:
    """Validate what a person typed to redeem an invitation, without writing anything."""
    details = {"display_name": validate_display_name(display_name), "email": validate_email(email)}
    ensure_email_free(details["email"])
    if invitation.rpps:
        ensure_rpps_free(invitation.rpps)
    return details


def _use_up(invitation: Invitation, **mark) -> None:
    """Mark a code used (redeemed or refused) by a conditional UPDATE: of two requests racing
    for one code, exactly one gets it; the other is told it is gone."""
    taken = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None),
               Invitation.cancelled_at.is_(None), Invitation.objected_at.is_(None),
               Invitation.expires_at > now())
        .values(**mark)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Gone(_("This invitation code has already been used, was cancelled or has expired."),
                   field="code")


def redeem_invitation(invitation: Invitation, *, display_name: str, email: str,
                      password: str | None = None, webauthn_handle: bytes | None = None,
                      language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create the invited person's account and use up the code (adds; the caller commits).

    The code is marked used by a conditional UPDATE, so two people racing with one code cannot
    both get an account.
    """
    _use_up(invitation, redeemed_at=now())
    user = create_user(email=email, display_name=display_name, role=invitation.role,
                       password=password, profession=invitation.profession,
                       rpps=invitation.rpps, language=language, timezone=timezone,
                       stored_profession=True)
    if webauthn_handle:
        user.webauthn_handle = webauthn_handle
    db.session.flush()
    db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id)
        .values(redeemed_by_id=user.id).execution_options(synchronize_session=False)
    )
    db.session.refresh(invitation)
    invitation_redeemed.send(invitation, user=user)
    return user


def objectable_invitation(code: str) -> Invitation:
    """The invitation this code opens, if its holder may refuse it; else a clear UserError."""
    invitation = find_invitation(code)
    if not policy.may_object(invitation):
        raise UserError(_("This code does not open a patient's space: if you do not want the "
                          "account, simply do not use it."), field="code")
    return invitation


def object_to_space(code: str) -> Invitation:
    """The invited person refuses the patient's space this code would open (the right to
    object): the code works no more, and the objection stands against new codes for the same
    email. Conditional, like a redemption: of an objection and a redemption racing for one
    code, exactly one wins."""
    invitation = objectable_invitation(code)
    _use_up(invitation, objected_at=now())
    db.session.commit()
    db.session.refresh(invitation)
    return invitation


def join_with_password(code: str, *, display_name: str, email: str, password: str,
                       language: str, timezone: str) -> User:
    invitation = find_invitation(code)
    if not password:
        raise UserError(_("Please choose a password, or create a passkey."), field="password")
    user = redeem_invitation(invitation, display_name=display_name, email=email,
                             password=password, language=language, timezone=timezone)
    db.session.commit()
    return user
