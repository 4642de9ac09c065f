"""Every write about accounts and every rule about signing in."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import session
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..errors import UserError
from ..extensions import db
from .models import Role, User, new_session_token

_hasher = PasswordHasher()
# Verifying against this keeps the time the same whether or not the account exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RPPS_RE = re.compile(r"^\d{11}$")
MIN_PASSWORD = 10


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_rpps(rpps: str) -> str:
    rpps = (rpps or "").strip()
    if not RPPS_RE.match(rpps):
        raise UserError(_("An RPPS number has exactly 11 digits."), field="rpps")
    return rpps


def create_user(*, email: str, display_name: str, role: Role | str, password: str | None = None,
                profession: str | None = None, rpps: str | None = None, city: str | None = None,
                language: str = "fr", timezone: str = "Europe/Paris") -> User:
    """Create (but do not commit) a user; the caller's transaction commits it."""
    role = Role(role)
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise UserError(_("Please enter a valid email address."), field="email")
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 120:
        raise UserError(_("Please enter a name (at most 120 characters)."), field="display_name")
    if db.session.scalar(db.select(User.id).filter_by(email=email)) is not None:
        raise UserError(_("An account already uses this email address."), field="email")
    if role is Role.PROFESSIONAL:
        rpps = validate_rpps(rpps)
        if not (profession or "").strip():
            raise UserError(_("Please give the profession."), field="profession")
        if db.session.scalar(db.select(User.id).filter_by(rpps=rpps)) is not None:
            raise UserError(_("An account already uses this RPPS number."), field="rpps")
    else:
        rpps = None
    user = User(email=email, display_name=display_name, role=role.value, profession=profession,
                rpps=rpps, city=city, language=language, timezone=timezone)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError(
            _("A password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    user.password_hash = _hasher.hash(password)


def check_password(email: str, password: str) -> User | None:
    """The user whose password this is, or None. Same cost whether the account exists or not."""
    user = db.session.scalar(db.select(User).filter_by(email=normalise_email(email)))
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.password_hash or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.session.commit()
    return user


def start_session(user: User) -> None:
    """Sign in with a fresh session: nothing from before the sign-in survives."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user, remember=False, fresh=True)
    session["auth_at"] = now().timestamp()


def end_session() -> None:
    logout_user()
    session.clear()


def sign_out_everywhere(user: User) -> None:
    """Every session of this user, on every device, stops working at its next request."""
    user.session_token = new_session_token()
    db.session.commit()
    end_session()
