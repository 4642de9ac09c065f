"""Web Push: devices (subscriptions), the "show details" setting, and sending.

The parts live in devices.py, payloads.py and sending.py; this module is the one other code
imports (every public name is here) and holds the test notification.

No domain knowledge lives here: chat and agenda build a payload (see `notification()`) and call
`send()` (one user, from a request) or `send_many()` (many users, bounded concurrency, from the
reminder worker). Neither ever raises into its caller; outcomes are returned and logged.

Payload (JSON, ≤ MAX_PAYLOAD_BYTES once encoded):
    {"title", "body", "url", "tag", "kind", "actions": [{"action", "title"}], "data": {...}}
For an action button, data carries `action_url` (same origin) and `token` (push.tokens).

Sending writes its own bookkeeping (dead subscriptions deleted, last success/failure) in a short
transaction of its own, so it never commits or rolls back the caller's session. Call it after
your own commit, with no write transaction open (SQLite allows one writer at a time).
"""

from __future__ import annotations

import json

from ..extensions import db
from . import tokens
from .audience import (  # noqa: F401 -- who counts on notifications (see audience.py)
    FAILING,
    FAILING_AFTER,
    NONE,
    counts_on_notifications,
    device_warning,
    is_failing,
)
from .devices import (  # noqa: F401 -- push's public services
    MAX_DEVICES,
    SESSION_KEY,
    connect_signals,
    device_label,
    devices,
    endpoint_fingerprint,
    forget_all_devices,
    forget_session_device,
    get_device,
    has_subscription,
    remember_for_session,
    remove_device,
    renew,
    subscribe,
    unsubscribe,
    utcnow,
)
from .models import PushSubscription
from .payloads import (  # noqa: F401
    KINDS,
    MAX_PAYLOAD_BYTES,
    encode_payload,
    notification,
    set_show_details,
    shows_details,
    users_showing_details,
)
from .sending import (  # noqa: F401
    MAX_TTL,
    URGENCIES,
    VAPID_REUSE_SECONDS,
    VAPID_TOKEN_SECONDS,
    Outcome,
    PushJob,
    PushResult,
    send,
    send_many,
)

TEST_TOKEN_PURPOSE = "push.test"
TEST_TOKEN_MAX_AGE = 7 * 24 * 3600


# ---- The test notification ---------------------------------------------------------------

def send_test(user) -> int:
    """A test notification to each of the user's devices, with an "It works" action that
    confirms the round trip for that device."""
    from flask import url_for

    base = notification(user, kind="test", url=url_for("push.settings"), tag="push-test",
                        actions=[("confirm", _lazy_it_works())])

    def for_device(job, sub_id):
        payload = json.loads(json.dumps(job.payload))
        payload["data"] = {
            "action_url": url_for("push.confirm_test"),
            "token": tokens.make_action_token(TEST_TOKEN_PURPOSE, {"s": sub_id, "u": user.id}),
        }
        return payload

    results = send_many([PushJob(user=user, payload=base, ttl=300, urgency="high",
                                 topic="push-test")], per_subscription_payload=for_device)
    return results[0].accepted


def _lazy_it_works():
    from flask_babel import lazy_gettext

    return lazy_gettext("It works")


def confirm_test(action, token) -> bool:
    """The service worker's "It works" tap. True when a device's test was confirmed."""
    data = tokens.read_action_token(TEST_TOKEN_PURPOSE, token, TEST_TOKEN_MAX_AGE)
    if data is None or action != "confirm":
        return False
    sub = db.session.get(PushSubscription, data.get("s"))
    if sub is None or sub.user_id != data.get("u"):
        return False
    sub.test_confirmed_at = utcnow()
    db.session.commit()
    return True
