"""Every write about accounts and every rule about signing in, by subject:

  common       limits, errors, the checks every account write shares (email, name, RPPS)
  people       creating an account; the "Me" settings
  passwords    hashing, checking, signing in and re-authenticating under the rate limit
  sessions     starting and ending a session; signing out of every device
  passkeys     naming and removing one's passkeys (the ceremonies: accounts/ceremony.py)
  closing      a patient closes their space, and reopens it by signing in again
  invitations  single-use codes, created by an administrator or another domain, redeemed
               into a new account, or refused by the person a patient's space was for

Reusable by other domains: `create_user` (adds, does not commit), `create_invitation` (adds,
does not commit; returns the code to hand over), `find_invitation`, `redeem_invitation` (adds,
does not commit; sends `signals.invitation_redeemed` inside the transaction).

Import from here (`from webapp.accounts import services`): the names below are the package's
surface.
"""

from __future__ import annotations

from .closing import close_space, owner_to_reopen, remember_owner, reopen_space
from .common import (
    MIN_PASSWORD,
    THEMES,
    SpaceClosed,
    TooManyTries,
    Unauthorized,
    normalise_email,
    now,
    validate_display_name,
    validate_email,
    validate_rpps,
)
from .invitations import (
    Objected,
    cancel_invitation,
    check_new_account,
    create_invitation,
    find_invitation,
    format_code,
    hash_code,
    invitation_by_id,
    invite_by_admin,
    join_with_password,
    normalise_code,
    object_to_space,
    objectable_invitation,
    objection_for,
    recent_invitations,
    redeem_invitation,
)
from .passkeys import (
    device_name,
    get_passkey,
    passkey_removal_refusal,
    remove_passkey,
    rename_passkey,
    validate_passkey_name,
)
from .passwords import (
    change_password,
    check_password,
    confirm_with_password,
    password_removal_refusal,
    remove_password,
    set_password,
    sign_in_with_password,
)
from .people import create_user, update_settings, validate_timezone
from .sessions import end_session, sign_out_everywhere, start_session

__all__ = [
    "cancel_invitation", "change_password", "check_new_account", "check_password",
    "close_space", "confirm_with_password", "create_invitation", "create_user", "device_name",
    "end_session", "find_invitation", "format_code", "get_passkey", "hash_code",
    "invitation_by_id", "invite_by_admin", "join_with_password", "normalise_code",
    "normalise_email", "now", "object_to_space", "objectable_invitation", "objection_for",
    "owner_to_reopen", "passkey_removal_refusal", "password_removal_refusal",
    "recent_invitations", "redeem_invitation", "remember_owner", "remove_passkey",
    "remove_password", "rename_passkey", "reopen_space", "set_password", "sign_in_with_password",
    "sign_out_everywhere", "start_session", "update_settings", "validate_display_name",
    "validate_email", "validate_passkey_name", "validate_rpps", "validate_timezone",
    "MIN_PASSWORD", "THEMES", "Objected", "SpaceClosed", "TooManyTries", "Unauthorized",
]
