"""Limits, errors and the checks every account write shares: email, name, RPPS number, the
professional's details, and the row lock that serialises "remove a way in"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import gettext as _

from ...errors import UserError
from ...extensions import db
from .. import professions
from ..models import Role, User

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


class SpaceClosed(UserError):
    """The right password or passkey, for a space its patient closed: they may reopen it."""

    status = 403

    def __init__(self, account):
        from flask_babel import gettext as _

        super().__init__(_("Your space is closed."))
        self.account = account


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


def ensure_email_free(email: str) -> None:
    if db.session.scalar(db.select(User.id).filter_by(email=email)) is not None:
        raise UserError(_("An account already uses this email address."), field="email")


def ensure_rpps_free(rpps: str) -> None:
    if db.session.scalar(db.select(User.id).filter_by(rpps=rpps)) is not None:
        raise UserError(_("An account already uses this RPPS number."), field="rpps")


def professional_details(role: Role, profession: str | None, rpps: str | None, *,
                         stored: bool = False) -> tuple[str | None, str | None]:
    """(profession code, RPPS number) checked for a professional (an RPPS no account uses
    yet); (None, None) for every other role.

    `stored`: the profession comes from a row already saved (an invitation made before the
    fixed list), so text the list does not know is kept as it is rather than refused."""
    if role is not Role.PROFESSIONAL:
        return None, None
    rpps = validate_rpps(rpps)
    text = (profession or "").strip()
    if not text:
        raise UserError(_("Please choose a profession from the list."), field="profession")
    if stored:
        profession = professions.code_for(text) or text[:80]
    else:
        profession = professions.normalise(text)
    ensure_rpps_free(rpps)
    return profession, rpps


def lock_ways_in(user: User) -> None:
    # Serialises "remove a way in" for one user on PostgreSQL so two removals at once cannot
    # leave nobody able to sign in (SQLite serialises writers anyway).
    db.session.execute(db.select(User.id).where(User.id == user.id).with_for_update())
