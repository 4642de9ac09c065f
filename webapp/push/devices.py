"""This person's devices: the browsers' push subscriptions (checked before they are stored),
renewed by the service worker, forgotten when the person signs out there or everywhere."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, UserError
from ..extensions import db
from . import vapid
from .models import PushSubscription

log = logging.getLogger(__name__)

MAX_DEVICES = 20


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def user_id(user) -> int:
    """A User or already an id (batches pass ids)."""
    return user if isinstance(user, int) else user.id



def _is_local_host(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def _check_endpoint(endpoint) -> str:
    """A push service URL: https on a known push service (no SSRF into our network)."""
    bad = UserError(_("This browser sent an invalid notification address. Nothing was saved."),
                    field="endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 2048:
        raise bad
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        raise bad from None
    if parts.username or parts.password or not host or any(c.isspace() for c in endpoint):
        raise bad
    config = current_app.config
    local_ok = config.get("PUSH_ALLOW_LOCAL_HTTP") or config.get("TESTING")
    if local_ok and _is_local_host(host) and parts.scheme in ("http", "https"):
        return endpoint
    if parts.scheme != "https":
        raise bad
    allowed = config.get("PUSH_ALLOWED_HOSTS") or []
    if "*" in allowed:
        return endpoint
    if not any(host == a or host.endswith("." + a) for a in allowed):
        raise UserError(_("This browser's notification service is not supported. "
                          "Nothing was saved."), field="endpoint")
    return endpoint


def _check_keys(keys) -> tuple[str, str]:
    bad = UserError(_("This browser sent invalid notification keys. Nothing was saved."),
                    field="keys")
    if not isinstance(keys, dict):
        raise bad
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise bad
    if len(p256dh) > 100 or len(auth) > 40:
        raise bad
    try:
        public = vapid.b64url_decode(p256dh)
        secret = vapid.b64url_decode(auth)
    except (ValueError, TypeError):
        raise bad from None
    if len(public) != 65 or public[0] != 4 or len(secret) != 16:
        raise bad
    try:  # a point off the curve would make every later encryption fail
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    except ValueError:
        raise bad from None
    return vapid.b64url(public), vapid.b64url(secret)


def device_label(user_agent: str | None) -> str:
    """"Chrome on Android" — enough for a person to recognise their device in a list."""
    ua = user_agent or ""
    browser = next((name for token, name in (
        ("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser", "Samsung Internet"),
        ("Firefox/", "Firefox"), ("FxiOS", "Firefox"), ("CriOS", "Chrome"),
        ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"),
    ) if token in ua), None)
    system = next((name for token, name in (
        ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
        ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
    ) if token in ua), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)[:80]
    return (browser or system or _("Unknown device"))[:80]


def subscribe(user, data, user_agent: str | None = None) -> PushSubscription:
    """Store (or refresh) this browser's subscription for `user`. Bad input stores nothing.

    `data` is PushSubscription.toJSON(): {"endpoint", "keys": {"p256dh", "auth"}, ...}.
    An endpoint already known is moved to `user`: a browser has one subscription, and it belongs
    to whoever signed in on it last.
    """
    if not isinstance(data, dict):
        raise UserError(_("This browser sent an invalid subscription. Nothing was saved."))
    endpoint = _check_endpoint(data.get("endpoint"))
    p256dh, auth = _check_keys(data.get("keys"))
    label = device_label(user_agent)
    for _attempt in range(2):  # a concurrent insert of the same endpoint becomes an update
        existing = db.session.scalar(select(PushSubscription).filter_by(endpoint=endpoint))
        if existing is None:
            count = db.session.scalar(select(func.count()).select_from(PushSubscription)
                                      .filter_by(user_id=user.id))
            if count >= MAX_DEVICES:
                raise UserError(_("You already have %(n)d devices receiving notifications. "
                                  "Remove one first.", n=MAX_DEVICES))
            sub = PushSubscription(user_id=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth,
                                   label=label, created_at=utcnow(), failure_count=0)
            db.session.add(sub)
        else:
            sub = existing
            if sub.user_id != user.id and (sub.p256dh != p256dh or sub.auth != auth):
                # Only the browser holding this subscription knows its keys: an endpoint
                # alone (a leaked URL) does not move someone's device to another account.
                raise UserError(_("This browser sent an invalid subscription. "
                                  "Nothing was saved."))
            if sub.user_id != user.id or sub.p256dh != p256dh or sub.auth != auth:
                sub.test_confirmed_at = None
            sub.user_id, sub.p256dh, sub.auth, sub.label = user.id, p256dh, auth, label
            sub.failure_count = 0
        try:
            db.session.commit()
            return sub
        except IntegrityError:
            db.session.rollback()
    raise UserError(_("This device could not be saved. Please try again."))


def renew(old_endpoint, old_auth, data) -> bool:
    """The browser replaced a subscription (pushsubscriptionchange in the service worker).

    No session or CSRF token is available there: knowing the old endpoint and its auth secret
    (shared only by that browser and this server) is what proves the request comes from it.
    """
    if not isinstance(old_endpoint, str) or not isinstance(old_auth, str) or not old_endpoint:
        return False
    if not old_endpoint.isascii():  # endpoints are URLs; a lone surrogate cannot be queried
        return False
    sub = db.session.scalar(select(PushSubscription).filter_by(endpoint=old_endpoint))
    if sub is None:
        return False
    try:
        given = vapid.b64url(vapid.b64url_decode(old_auth))
    except (ValueError, TypeError):
        return False
    if not hmac.compare_digest(given, sub.auth):
        return False
    if not isinstance(data, dict):
        raise UserError(_("This browser sent an invalid subscription. Nothing was saved."))
    endpoint = _check_endpoint(data.get("endpoint"))
    p256dh, auth = _check_keys(data.get("keys"))
    if endpoint != sub.endpoint:
        db.session.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint))
    sub.endpoint, sub.p256dh, sub.auth = endpoint, p256dh, auth
    sub.failure_count, sub.test_confirmed_at = 0, None
    db.session.commit()
    return True


def unsubscribe(user, endpoint) -> bool:
    """Forget this browser (called when it turns notifications off). True if it was known."""
    if not isinstance(endpoint, str) or not endpoint or not endpoint.isascii():
        raise UserError(_("This browser sent an invalid notification address. Nothing was saved."))
    result = db.session.execute(delete(PushSubscription).where(
        PushSubscription.user_id == user.id, PushSubscription.endpoint == endpoint))
    db.session.commit()
    return result.rowcount > 0


def get_device(user, subscription_id: int) -> PushSubscription:
    from .. import policy

    sub = db.session.get(PushSubscription, subscription_id)
    if sub is None:
        raise NotFound(_("This device is no longer registered."))
    policy.require(user, "push.device.manage", sub)
    return sub


SESSION_KEY = "push_subscription_id"


def remember_for_session(sub: PushSubscription) -> None:
    """This browser's device, so that signing out here stops its notifications.

    Every signed-in page tells the server its subscription again: only a change is written,
    so that those answers carry no session cookie. One that did, arriving after a sign-out
    made meanwhile, would bring the signed-in session back."""
    from flask import session

    if session.get(SESSION_KEY) != sub.id:
        session[SESSION_KEY] = sub.id


def forget_session_device(sender, user=None, **_extra) -> None:
    """Flask-Login's user_logged_out: the person signed out on this browser, so it stops
    receiving their notifications (a shared or lent phone must not keep showing them).
    If they sign in again, the page registers the browser's subscription again."""
    from flask import session

    sub_id = session.pop(SESSION_KEY, None)
    if not isinstance(sub_id, int) or user is None or not getattr(user, "id", None):
        return
    try:
        db.session.execute(delete(PushSubscription).where(
            PushSubscription.id == sub_id, PushSubscription.user_id == user.id))
        db.session.commit()
    except Exception:  # signing out must never fail because of this
        db.session.rollback()
        log.exception("push: could not forget the signed-out device")


def forget_all_devices(user, **_extra) -> None:
    """accounts' signed_out_everywhere: the person signed out of every device (a lost phone,
    a shared computer), so none keeps receiving their notifications. Runs inside the
    sign-out's transaction; each browser registers again when they sign in on it."""
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))


def connect_signals() -> None:
    from flask_login import user_logged_out

    from ..accounts.signals import signed_out_everywhere

    user_logged_out.connect(forget_session_device, weak=False)
    signed_out_everywhere.connect(forget_all_devices, weak=False)


def remove_device(user, subscription_id: int) -> None:
    db.session.delete(get_device(user, subscription_id))
    db.session.commit()


def devices(user) -> list[PushSubscription]:
    return list(db.session.scalars(select(PushSubscription).filter_by(user_id=user.id)
                                   .order_by(PushSubscription.created_at, PushSubscription.id)))


def has_subscription(user) -> bool:
    return db.session.scalar(select(PushSubscription.id).filter_by(
        user_id=user_id(user)).limit(1)) is not None


def endpoint_fingerprint(endpoint: str) -> str:
    """Lets the page recognise "this device" in the list without printing the endpoint."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:32]

