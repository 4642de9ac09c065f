"""Closing one's space, and opening it again.

Closing seals the space shut; it does not empty it. From that moment policy refuses every one
of the patient's relatives and professionals (a closed account is not an active patient, and
every scope rule asks for one), every device of the patient is signed out and stops receiving
notifications, and no reminder or alert about the patient goes out. Nothing is deleted: the
messages, the agenda, the care circle as it was and the access history stay, sealed, so that
signing in again can reopen the space exactly as it was (the care circle included: the page
says so before the patient confirms). Erasing a space is another promise, which the access
history's append-only rule and the retention of medical records do not allow here.
"""

from __future__ import annotations

import time

from flask import session
from flask_babel import gettext as _

from ... import audit, policy
from ...errors import Forbidden
from ...extensions import db
from ..models import User
from ..signals import space_closed
from .common import now
from .sessions import sign_out_everywhere

REOPEN_KEY = "reopen"  # the session's proof that the closed account's owner just signed in
REOPEN_SECONDS = 600


def close_space(patient: User) -> None:
    """Close the patient's own space (the caller then ends this session)."""
    policy.require(patient, "space.close", patient)
    patient.active = False
    patient.closed_at = now()
    audit.record(patient, patient, "close", "space")
    # Rotates the session token (every device's session ends at its next request), forgets
    # the push subscriptions, and commits the closing with them.
    sign_out_everywhere(patient)
    space_closed.send(patient)


def remember_owner(account: User) -> None:
    """The owner of a closed space proved who they are: let this browser reopen it, briefly."""
    session[REOPEN_KEY] = {"user": account.id, "at": time.time()}


def owner_to_reopen() -> User | None:
    """The closed account this browser may reopen now, or None (no proof, or too old)."""
    proof = session.get(REOPEN_KEY)
    if not isinstance(proof, dict):
        return None
    at, user_id = proof.get("at"), proof.get("user")
    if not isinstance(at, int | float) or not isinstance(user_id, int):
        return None
    if not 0 <= time.time() - at <= REOPEN_SECONDS:
        return None
    account = db.session.get(User, user_id)
    return account if policy.may_reopen(account) else None


def reopen_space(account: User | None) -> User:
    """Open a closed space again, as it was. The caller starts the session."""
    if not policy.may_reopen(account):
        raise Forbidden(_("Please sign in again to reopen your space."))
    account.active = True
    account.closed_at = None
    audit.record(account, account, "reopen", "space")
    db.session.commit()
    session.pop(REOPEN_KEY, None)
    return account
