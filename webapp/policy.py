"""THE one place that decides who may see or do what. Default: deny.

Every route and every Socket.IO handler asks `can()` (or `require()`); no domain decides access
on its own. Rules read the care circle's grants (circle.models).

`can(actor, action, subject)`:
  actor   -- the signed-in User (or AnonymousUserMixin / None)
  action  -- a string from ACTIONS
  subject -- what the action is about: usually the patient (a User), or a domain object
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import Forbidden

RULES: dict[str, Callable[..., bool]] = {}


def rule(action: str):
    """Register the function that decides `action`. One rule per action."""

    def register(fn):
        if action in RULES:
            raise RuntimeError(f"two rules for {action}")
        RULES[action] = fn
        return fn

    return register


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def can(actor, action: str, subject=None) -> bool:
    decide = RULES.get(action)
    if decide is None or not _signed_in(actor):
        return False
    return bool(decide(actor, subject))


def require(actor, action: str, subject=None) -> None:
    if not can(actor, action, subject):
        from flask_babel import gettext as _

        raise Forbidden(_("You do not have access to this."))


# ---- Accounts --------------------------------------------------------------------------

@rule("account.manage_self")
def _manage_self(actor, subject) -> bool:
    return subject is None or subject.id == actor.id


@rule("admin.invite")
def _admin_invite(actor, subject) -> bool:
    return actor.is_admin


# ---- Push ------------------------------------------------------------------------------

@rule("push.device.manage")
def _push_device_manage(actor, subscription) -> bool:
    # A device (push subscription) belongs to one person; only they see or remove it.
    return subscription is not None and subscription.user_id == actor.id
