"""Who counts on notifications, and whether any of their devices still receives them: the
banner "Notifications are not turned on on any of your devices" is shown from this.

Push knows no domain, so each domain says what makes a person count on notifications by
registering a condition on a user id: an SQL expression on its own tables, usually an EXISTS
(a member of a conversation, a patient with a reminder, a relative watching one…).

    from ..push.audience import counts_on_notifications

    @counts_on_notifications
    def _in_a_conversation(user_id):
        return exists().where(ConversationMember.user_id == user_id)

`device_warning(user)` asks everything in ONE query: whether the person has a device that still
receives notifications and, only when they have none, whether any registered condition holds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import case, exists, literal, or_, select

from ..extensions import db
from .devices import user_id as _user_id
from .models import PushSubscription

Condition = Callable[[int], object]
CONDITIONS: list[Condition] = []

# A device stops counting as receiving notifications after this many sends in a row that
# failed (a success resets PushSubscription.failure_count; the push service's "gone" deletes
# the subscription at once). One failure can be a push service's bad minute.
FAILING_AFTER = 3

NONE = "none"  # no device at all
FAILING = "failing"  # devices, but none of them still receives notifications


def counts_on_notifications(condition: Condition) -> Condition:
    """Register a domain's condition (once: importing a module twice does not add it twice)."""
    if condition not in CONDITIONS:
        CONDITIONS.append(condition)
    return condition


def _working():
    return PushSubscription.failure_count < FAILING_AFTER


def is_failing(subscription: PushSubscription) -> bool:
    """This device no longer receives notifications (the rule `_working()` says in SQL)."""
    return subscription.failure_count >= FAILING_AFTER


def device_warning(user) -> str | None:
    """NONE or FAILING when `user` counts on notifications and no device of theirs receives
    them; None otherwise (a working device, or nothing they would be notified of). One query."""
    if not CONDITIONS:
        return None
    uid = _user_id(user)
    mine = PushSubscription.user_id == uid
    state = case(
        (exists().where(mine, _working()), literal(0)),
        (~or_(*(condition(uid) for condition in CONDITIONS)), literal(0)),
        (exists().where(mine), literal(2)),
        else_=literal(1),
    )
    answer = db.session.scalar(select(state))
    return {1: NONE, 2: FAILING}.get(answer)
