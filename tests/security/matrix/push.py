"""Matrix entries for Web Push (webapp/push/routes.py). See the package docstring.

Everything under /push is about the signed-in person's own devices and settings: any signed-in
role may use it for themself. A device is removable only by its owner. The two endpoints the
service worker calls carry no session nor CSRF token and trust only what they are sent.
"""

from __future__ import annotations

from tests.security.matrix import Route, expect

_push_service = None


def _subscription_json(s) -> dict:
    """A genuine subscription on a local push service (the "send a test" cells deliver to it;
    nothing reaches the internet)."""
    global _push_service
    from tests.push.push_endpoint import PushEndpoint

    if _push_service is None:
        _push_service = PushEndpoint().start()  # a daemon thread, for the rest of the run
    return _push_service.subscription().info()


def _owners_device_path(s) -> str:
    """A fresh device of the owner's for each cell (the owner's cell removes it)."""
    from webapp.accounts.models import User
    from webapp.extensions import db
    from webapp.push import services

    owner = db.session.get(User, s.owner.id)
    sub = services.subscribe(owner, _subscription_json(s))
    return f"/push/devices/{sub.id}/remove"


ROUTES = {
    "push.settings": Route("GET", "/push/", expect.signed_in()),
    "push.device_list": Route("GET", "/push/devices", expect.signed_in()),
    "push.subscribe": Route("POST", "/push/subscriptions", expect.signed_in(),
                            json=_subscription_json),
    "push.unsubscribe": Route("POST", "/push/subscriptions/unsubscribe", expect.signed_in(),
                              json=lambda s: {"endpoint": "https://fcm.googleapis.com/x/1"}),
    "push.remove_device": Route("POST", _owners_device_path, expect.owner_only()),
    "push.preferences": Route("POST", "/push/preferences", expect.signed_in(),
                              data={"show_details": "on"}),
    "push.send_test": Route("POST", "/push/test", expect.signed_in()),
    # "Not now" on the banner: hides it in the person's own session, nothing else.
    "push.hide_banner": Route("POST", "/push/banner/hide", expect.signed_in()),
    # Called by the service worker: no session needed, and without a genuine token or the
    # old subscription's secret nobody gets anything but a refusal.
    "push.confirm_test": Route("POST", "/push/test/confirm", expect.public(ok=400),
                               json={"action": "confirm", "token": "forged"}),
    "push.renew": Route("POST", "/push/subscriptions/renew", expect.public(ok=404),
                        json=lambda s: {"old_endpoint": "https://fcm.googleapis.com/x/2",
                                        "old_auth": "AAAAAAAAAAAAAAAAAAAAAA",
                                        "subscription": _subscription_json(s)}),
}

EVENTS: dict = {}
