"""Passwords: hashing (Argon2), checking in constant time whether the account exists or not,
signing in and re-authenticating under the rate limit, changing and removing."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from ... import policy
from ...errors import Conflict, UserError
from ...extensions import db
from .. import fresh, throttle
from ..models import User
from .common import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    SpaceClosed,
    TooManyTries,
    Unauthorized,
    lock_ways_in,
    normalise_email,
)

# Argon2id costs. "standard" is argon2-cffi's default, RFC 9106's low-memory profile (3 passes
# over 64 MiB, 4 lanes): 0.15-0.3 s a check here, which is the point. "light" (1 pass, 1 MiB)
# exists for the test suite alone, where hundreds of sign-ins would otherwise spend minutes
# hashing; config.check_settings() refuses it anywhere but a test run. Hashes carry
# their own parameters, and a sign-in re-hashes one made under other costs.
HASHING_PROFILES = {
    "standard": {},
    "light": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
}


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher(**HASHING_PROFILES[profile])


def hasher() -> PasswordHasher:
    """The app's password hasher (its PASSWORD_HASHING profile)."""
    return _hasher_for(current_app.config["PASSWORD_HASHING"])


@cache
def _dummy_hash(profile: str) -> str:
    """Verified against when the account does not exist or has no password, so the answer
    takes as long either way. Made on first use, not at import: hashing costs ~0.15 s."""
    return _hasher_for(profile).hash("not-a-real-password")


def set_password(user: User, password: str) -> None:
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise UserError(
            _("A password needs at least %(n)d characters.", n=MIN_PASSWORD), field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise UserError(_("This password is too long."), field="password")
    user.password_hash = hasher().hash(password)


def _verify_password(user: User | None, password: str) -> bool:
    profile = current_app.config["PASSWORD_HASHING"]
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash(profile)
    try:
        _hasher_for(profile).verify(stored, (password or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False
    return user is not None and bool(user.password_hash)


def _password_owner(email: str, password: str) -> User | None:
    """The account whose password this is, active or not, or None. Same cost whether the
    account exists or not."""
    user = db.session.scalar(db.select(User).filter_by(email=normalise_email(email)))
    return user if _verify_password(user, password) else None


def _signed_in_as(user: User | None, password: str) -> User | None:
    """`user` (whose password was just verified) if the account is active, else None."""
    if user is None or not user.is_active:
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
        db.session.commit()
    return user


def check_password(email: str, password: str) -> User | None:
    """The active user whose password this is, or None."""
    return _signed_in_as(_password_owner(email, password), password)


def sign_in_with_password(email: str, password: str) -> User:
    """Check a password under the rate limit (failures count per account and per IP)."""
    account = normalise_email(email)
    if throttle.blocked("sign-in", account):
        raise TooManyTries(_("Too many attempts. Please wait a minute and try again."))
    owner = _password_owner(account, password)
    if owner is not None and not owner.is_active and policy.may_reopen(owner):
        raise SpaceClosed(owner)  # the right password: the patient may reopen their space
    user = _signed_in_as(owner, password)
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


def password_removal_refusal(user: User) -> str | None:
    """Why `user` may not remove their password now (None: they may)."""
    if not user.passkeys:
        return _("You cannot remove your password: it is your only way to sign in. "
                 "Add a passkey first.")
    return None


def remove_password(user: User) -> None:
    lock_ways_in(user)
    refusal = password_removal_refusal(user)
    if refusal:
        raise Conflict(refusal)
    user.password_hash = None
    db.session.commit()
