"""Accounts themselves: creating one, and the "Me" settings (name, language, time zone, text
size, theme)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from flask import current_app
from flask_babel import gettext as _

from ... import policy
from ...errors import UserError
from ...extensions import db
from ..models import Role, User
from ..signals import timezone_changed
from .common import (
    THEMES,
    ensure_email_free,
    professional_details,
    validate_display_name,
    validate_email,
)
from .passwords import set_password


def create_user(*, email: str, display_name: str, role: Role | str, password: str | None = None,
                profession: str | None = None, rpps: str | None = None, city: str | None = None,
                language: str = "fr", timezone: str = "Europe/Paris",
                stored_profession: bool = False) -> User:
    """Create (but do not commit) a user; the caller's transaction commits it.

    `profession` is a code of `accounts.professions` (or a word it knows); with
    `stored_profession` (it comes from a saved invitation) older free text is kept."""
    role = Role(role)
    email = validate_email(email)
    display_name = validate_display_name(display_name)
    ensure_email_free(email)
    profession, rpps = professional_details(role, profession, rpps, stored=stored_profession)
    user = User(email=email, display_name=display_name, role=role.value, profession=profession,
                rpps=rpps, city=city, language=language, timezone=timezone)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    return user


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
