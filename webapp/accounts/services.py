"""Every write about accounts and every rule about signing in.

Reusable by other domains: `create_user` (adds, does not commit), `create_invitation` (adds,
does not commit; returns the code to hand over), `find_invitation`, `redeem_invitation` (adds,
does not commit; sends `signals.invitation_redeemed` inside the transaction).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import update

from .. import policy
from ..errors import Conflict, Gone, NotFound, UserError
from ..extensions import db
from . import fresh, throttle
from .models import Invitation, Passkey, Role, User, new_session_token
from .signals import invitation_redeemed, signed_out_everywhere, timezone_changed

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the account does not exist or has no password, so the answer
    takes as long either way. Made on first use, not at import: hashing costs ~0.15 s."""
    return _hasher.hash("not-a-real-password")


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RPPS_RE = re.compile(r"^\d{11}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
THEMES = ("auto", "light", "dark")
INVITATION_DAYS = 7
# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


class Unauthorized(UserError):
    status = 401


class TooManyTries(UserError):
    status = 429


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_rpps(rpps: str) -> str:
    rpps = (rpps or "").strip()
    if not RPPS_RE.match(rpps):
        raise UserError(_("An RPPS number has exactly 11 digits."), field="rpps")
    return rpps


def validate_display_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise UserError(_("Please enter a name (at most 120 characters)."), field="display_name")
    return name


def validate_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise UserError(_("Please enter a valid email address."), field="email")
    return email


def _email_free(email: str) -> None:
    if db.session.scalar(db.select(User.id).filter_by(email=email)) is not None:
        raise UserError(_("An account already uses this email address."), field="email")


def _rpps_free(rpps: str) -> None:
    if db.session.scalar(db.select(User.id).filter_by(rpps=rpps)) is not None:
        raise UserError(_("An account already uses this RPPS number."), field="rpps")


def _professional_details(role: Role, profession: str | None,
                          rpps: str | None) -> tuple[str | None, str | None]:
    """(profession, RPPS number) checked for a professional (an RPPS no account uses yet);
    (None, None) for every other role."""
    if role is not Role.PROFESSIONAL:
        return None, None
    rpps = validate_rpps(rpps)
    profession = (profession or "").strip()
    if not profession or len(profession) > 80:
        raise UserError(_("Please give the profession."), field="profession")
    _rpps_free(rpps)
    return profession, rpps


def create_user(*, email: str, display_name: str, role: Role | str, password: str | None = None,
                profession: str | None = None, rpps: str | None = None, city: str | None = None,
                language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create (but do not commit) a user; the caller's transaction commits it."""
    role = Role(role)
    email = validate_email(email)
    display_name = validate_display_name(display_name)
    _email_free(email)
    profession, rpps = _professional_details(role, profession, rpps)
    user = User(email=email, display_name=display_name, role=role.value, profession=profession,
                rpps=rpps, city=city, language=language, timezone=timezone)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    return user


# ---- Passwords -------------------------------------------------------------------------

def set_password(user: User, password: str) -> None:
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise UserError(
            _("A password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise UserError(_("This password is too long."), field="password")
    user.password_hash = _hasher.hash(password)


def _verify_password(user: User | None, password: str) -> bool:
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _hasher.verify(stored, (password or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and bool(user.password_hash)


def check_password(email: str, password: str) -> User | None:
    """The user whose password this is, or None. Same cost whether the account exists or not."""
    user = db.session.scalar(db.select(User).filter_by(email=normalise_email(email)))
    if not _verify_password(user, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def sign_in_with_password(email: str, password: str) -> User:
    """Check a password under the rate limit (failures count per account and per IP)."""
    account = normalise_email(email)
    if throttle.blocked("sign-in", account):
        raise TooManyTries(_("Too many attempts. Please wait a minute and try again."))
    user = check_password(account, password)
    if user is None:
        throttle.record_failure("sign-in", account)
        raise Unauthorized(_("Wrong email or password."))
    return user


def confirm_with_password(user: User, password: str) -> None:
    """Re-authentication of the signed-in user by password (its own counter, same limits)."""
    if throttle.blocked("reauth", user.email):
        raise TooManyTries(_("Too many attempts. Please wait a minute and try again."))
    if not _verify_password(user, password):
        throttle.record_failure("reauth", user.email)
        raise Unauthorized(_("Wrong password."), field="password")
    fresh.mark_fresh()


def change_password(user: User, password: str) -> None:
    set_password(user, password)
    db.session.commit()


def remove_password(user: User) -> None:
    _lock(user)
    if not user.passkeys:
        raise Conflict(_("You cannot remove your password: it is your only way to sign in. "
                         "Add a passkey first."))
    user.password_hash = None
    db.session.commit()


# ---- Sessions --------------------------------------------------------------------------

def start_session(user: User) -> None:
    """Sign in with a fresh session: nothing from before the sign-in survives."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user, remember=False, fresh=True)
    fresh.mark_fresh()


def end_session() -> None:
    logout_user()
    session.clear()


def sign_out_everywhere(user: User) -> None:
    """Every session of this user, on every device, stops working at its next request, and
    (through `signals.signed_out_everywhere`) no device keeps receiving their notifications."""
    user.session_token = new_session_token()
    signed_out_everywhere.send(user)
    db.session.commit()
    end_session()


# ---- Settings --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(name: str) -> str:
    name = (name or "").strip()
    if name not in _zones():
        raise UserError(_("Please choose a time zone from the list."), field="timezone")
    return name


def update_settings(user: User, *, display_name: str, language: str, timezone: str,
                    large_text: bool, theme: str) -> set[str]:
    """Save the "Me" settings; returns the names of the fields that changed."""
    policy.require(user, "account.manage_self", user)
    values = {
        "display_name": validate_display_name(display_name),
        "language": language if language in current_app.config["LANGUAGES"] else None,
        "timezone": validate_timezone(timezone),
        "large_text": bool(large_text),
        "theme": theme if theme in THEMES else None,
    }
    if values["language"] is None:
        raise UserError(_("Please choose a language from the list."), field="language")
    if values["theme"] is None:
        raise UserError(_("Please choose a theme from the list."), field="theme")
    changed = {name for name, value in values.items() if getattr(user, name) != value}
    old_timezone = user.timezone
    for name in changed:
        setattr(user, name, values[name])
    if "timezone" in changed:
        timezone_changed.send(user, old=old_timezone, new=user.timezone)
    db.session.commit()
    return changed


# ---- Passkeys (management; the ceremonies live in ceremony.py) -------------------------

def _lock(user: User) -> None:
    # Serialises "remove a way in" for one user on PostgreSQL so two removals at once cannot
    # leave nobody able to sign in (SQLite serialises writers anyway).
    db.session.execute(db.select(User.id).where(User.id == user.id).with_for_update())


def get_passkey(user: User, passkey_id: int) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or not policy.can(user, "account.manage_self", passkey.user):
        raise NotFound(_("This passkey does not exist."))
    return passkey


def validate_passkey_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise UserError(_("Please give the passkey a name (at most 80 characters)."),
                        field="name")
    return name


def rename_passkey(user: User, passkey_id: int, name: str) -> Passkey:
    passkey = get_passkey(user, passkey_id)
    passkey.name = validate_passkey_name(name)
    db.session.commit()
    return passkey


def remove_passkey(user: User, passkey_id: int) -> str:
    """Remove one passkey, never the last way in. Returns its name."""
    passkey = get_passkey(user, passkey_id)
    _lock(user)
    if user.ways_in <= 1:
        raise Conflict(_("You cannot remove your last way to sign in. "
                         "Add another passkey or set a password first."))
    name = passkey.name
    db.session.delete(passkey)
    db.session.commit()
    return name


DEVICE_HINTS = (
    ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Macintosh", "Mac"),
    ("Windows", "Windows"), ("CrOS", "Chromebook"), ("Linux", "Linux"),
)


def device_name(user_agent: str | None) -> str:
    """A default passkey name from the browser's User-Agent, e.g. "Passkey on iPhone"."""
    for needle, label in DEVICE_HINTS:
        if needle in (user_agent or ""):
            return _("Passkey on %(device)s", device=label)
    return _("Passkey")


# ---- Invitations -----------------------------------------------------------------------

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
    profession, rpps = _professional_details(role, profession, rpps)
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    invitation = Invitation(
        code_hash=hash_code(code), role=role.value, email=email or None, profession=profession,
        rpps=rpps, context=context, created_by_id=created_by.id if created_by else None,
        expires_at=now() + timedelta(days=days),
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, format_code(code)


def invite_by_admin(admin: User, *, role: str, email: str | None = None,
                    profession: str | None = None,
                    rpps: str | None = None) -> tuple[Invitation, str]:
    policy.require(admin, "admin.invite")
    if role not in {r.value for r in Role}:
        raise UserError(_("Please choose a role from the list."), field="role")
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


def _check_redeemable(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise NotFound(_("This invitation code is not valid. Check it, or ask for a new one."),
                       field="code")
    if invitation.redeemed_at is not None:
        raise Gone(_("This invitation code has already been used."), field="code")
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
    _email_free(details["email"])
    if invitation.rpps:
        _rpps_free(invitation.rpps)
    return details


def redeem_invitation(invitation: Invitation, *, display_name: str, email: str,
                      password: str | None = None, webauthn_handle: bytes | None = None,
                      language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create the invited person's account and use up the code (adds; the caller commits).

    The code is marked used by a conditional UPDATE, so two people racing with one code cannot
    both get an account.
    """
    taken = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.redeemed_at.is_(None),
               Invitation.expires_at > now())
        .values(redeemed_at=now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Gone(_("This invitation code has already been used or has expired."), field="code")
    user = create_user(email=email, display_name=display_name, role=invitation.role,
                       password=password, profession=invitation.profession,
                       rpps=invitation.rpps, language=language, timezone=timezone)
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


def join_with_password(code: str, *, display_name: str, email: str, password: str,
                       language: str, timezone: str) -> User:
    invitation = find_invitation(code)
    if not password:
        raise UserError(_("Please choose a password, or create a passkey."), field="password")
    user = redeem_invitation(invitation, display_name=display_name, email=email,
                             password=password, language=language, timezone=timezone)
    db.session.commit()
    return user
