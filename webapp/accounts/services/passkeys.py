"""Managing one's passkeys (naming, renaming, removing, never the last way in); the WebAuthn
ceremonies themselves live in accounts/ceremony.py."""

from __future__ import annotations

from flask_babel import gettext as _

from ... import policy
from ...errors import Conflict, NotFound, UserError
from ...extensions import db
from ..models import Passkey, User
from .common import lock_ways_in


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


def passkey_removal_refusal(user: User) -> str | None:
    """Why `user` may not remove a passkey now (None: they may): it is their only way in."""
    if user.ways_in <= 1:
        return _("You cannot remove your last way to sign in. "
                 "Add another passkey or set a password first.")
    return None


def remove_passkey(user: User, passkey_id: int) -> str:
    """Remove one passkey, never the last way in. Returns its name."""
    passkey = get_passkey(user, passkey_id)
    lock_ways_in(user)
    # Checked again under the lock: the confirmation page's answer may be stale (another tab).
    refusal = passkey_removal_refusal(user)
    if refusal:
        raise Conflict(refusal)
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
