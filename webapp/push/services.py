"""Web Push: devices (subscriptions), the "show details" setting, and sending.

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

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, UserError
from ..extensions import db
from . import tokens, vapid
from .models import PushPreference, PushSubscription

log = logging.getLogger(__name__)

KINDS = ("message", "reminder", "medication", "appointment", "test")
URGENCIES = ("very-low", "low", "normal", "high")
# RFC 8291: the encrypted record (86-byte header, 1 padding delimiter, 16-byte tag) must fit in
# the 4096 bytes every push service accepts.
MAX_PAYLOAD_BYTES = 4096 - 86 - 1 - 16
MAX_TTL = 28 * 24 * 3600  # the longest push services keep a message
MAX_DEVICES = 20
TEST_TOKEN_PURPOSE = "push.test"
TEST_TOKEN_MAX_AGE = 7 * 24 * 3600
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _user_id(user) -> int:
    return user if isinstance(user, int) else user.id


# ---- Devices -----------------------------------------------------------------------------

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
    if not isinstance(endpoint, str) or not endpoint:
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
    """This browser's device, so that signing out here stops its notifications."""
    from flask import session

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
        user_id=_user_id(user)).limit(1)) is not None


def endpoint_fingerprint(endpoint: str) -> str:
    """Lets the page recognise "this device" in the list without printing the endpoint."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:32]


# ---- Preference --------------------------------------------------------------------------

def shows_details(user) -> bool:
    """The user's choice to see titles and sender names in notifications. Default: no."""
    value = db.session.scalar(select(PushPreference.show_details).filter_by(
        user_id=_user_id(user)))
    return bool(value)


def set_show_details(user, value: bool) -> None:
    pref = db.session.get(PushPreference, user.id)
    if pref is None:
        pref = PushPreference(user_id=user.id)
        db.session.add(pref)
    pref.show_details = bool(value)
    pref.updated_at = utcnow()
    db.session.commit()


# ---- Payloads ----------------------------------------------------------------------------

def _generic_text(kind: str) -> tuple[str, str]:
    if kind == "message":
        return _("New secure message"), _("Open Health Space to read it.")
    if kind == "test":
        return _("Test notification"), _("Notifications work on this device.")
    return _("You have a reminder"), _("Open Health Space to see it.")


def users_showing_details(user_ids: Iterable[int]) -> set[int]:
    """Of these users, those who chose to see details (one query, for batches)."""
    ids = sorted(set(user_ids))
    chosen: set[int] = set()
    for start in range(0, len(ids), 500):
        chosen.update(db.session.scalars(select(PushPreference.user_id).where(
            PushPreference.user_id.in_(ids[start:start + 500]),
            PushPreference.show_details.is_(True))))
    return chosen


def notification(user, *, kind: str, url: str, tag: str | None = None, title=None, body=None,
                 actions: Iterable[tuple[str, Any]] = (), data: dict | None = None,
                 show_details: bool | None = None) -> dict:
    """Build the payload for `user`, in their language.

    `title`/`body` may carry health detail: they are used only when the user chose to see
    details; otherwise the generic text for `kind` ("New secure message", "You have a reminder")
    goes out. `actions` are (action, label) pairs; labels may be lazy_gettext strings and are
    translated here, as is everything else, into the user's language (works outside a request).
    `show_details` skips the preference query when the caller already knows it (batches: see
    users_showing_details()).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    language = getattr(user, "language", None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if show_details is None:
        show_details = shows_details(user)
    detailed = title is not None and show_details
    with force_locale(language):
        generic_title, generic_body = _generic_text(kind)
        payload = {
            "title": str(title) if detailed else generic_title,
            "body": (str(body) if body is not None else "") if detailed else generic_body,
            "url": url,
            "tag": tag or kind,
            "kind": kind,
            "actions": [{"action": a, "title": str(label)} for a, label in actions],
            "data": dict(data or {}),
        }
    return payload


# ---- Sending -----------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one subscription. status: accepted | gone | failed | retry_later."""

    subscription_id: int
    status: str
    http_status: int | None = None
    attempts: int = 0
    retry_after: float | None = None
    error: str | None = None


@dataclass
class PushJob:
    """One notification for one user, for send_many(). `key` is the caller's own reference."""

    user: Any  # a User or a user id
    payload: dict
    ttl: int
    urgency: str = "normal"
    topic: str | None = None
    key: Any = None


@dataclass
class PushResult:
    key: Any
    user_id: int
    accepted: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None  # refused before sending (bad payload/ttl/urgency)

    @property
    def retry_after(self) -> float | None:
        """Set when nothing was accepted and a device asked us to come back later."""
        waits = [o.retry_after for o in self.outcomes if o.status == "retry_later"]
        return max(waits) if waits and not self.accepted else None


@dataclass(frozen=True)
class _Settings:
    """What a pool thread needs, read from the app before leaving its context."""

    signer: Any
    subject: str
    max_attempts: int
    base_wait: float
    max_wait: float
    timeout: float


def _settings() -> _Settings:
    config = current_app.config
    return _Settings(
        signer=vapid.identity(), subject=vapid.subject(),
        max_attempts=max(1, int(config.get("PUSH_MAX_ATTEMPTS", 3))),
        base_wait=float(config.get("PUSH_RETRY_BASE_SECONDS", 0.5)),
        max_wait=float(config.get("PUSH_RETRY_MAX_WAIT_SECONDS", 10)),
        timeout=float(config.get("PUSH_TIMEOUT_SECONDS", 10)),
    )


def _topic_header(topic: str) -> str:
    """RFC 8030 topics are ≤ 32 base64url characters; longer keys are hashed into one."""
    if _TOPIC.match(topic):
        return topic
    return base64.urlsafe_b64encode(hashlib.sha256(topic.encode()).digest()).decode()[:32]


def encode_payload(payload: dict) -> bytes:
    """The bytes that will be encrypted; ValueError when not a sendable payload."""
    if not isinstance(payload, dict) or not isinstance(payload.get("title"), str):
        raise ValueError("payload must be a dict with a string title")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload is {len(body)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    return body


def _check_job(ttl, urgency, topic) -> None:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl must be an int of seconds in 0..{MAX_TTL}")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {URGENCIES}")
    if topic is not None and (not isinstance(topic, str) or not topic):
        raise ValueError("topic must be a non-empty string")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_local = threading.local()


_ENVIRONMENT_SETTINGS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                         "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _http() -> requests.Session:
    """One keep-alive session per thread (requests.Session is not shared across threads)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        # requests re-reads proxy and CA settings from the environment on every request, a
        # large share of the CPU a push costs; when none is set there is nothing to read.
        if not any(os.environ.get(name) or os.environ.get(name.lower())
                   for name in _ENVIRONMENT_SETTINGS):
            session.trust_env = False
    return session


VAPID_TOKEN_SECONDS = 12 * 3600  # the JWT's lifetime (push services accept up to 24 h)
VAPID_REUSE_SECONDS = 3600  # how long one signed token is reused for one push service
_vapid_tokens: dict[tuple[int, str, str], tuple[float, dict]] = {}
_vapid_lock = threading.Lock()


def _vapid_headers(settings: _Settings, audience: str) -> dict:
    """The `Authorization: vapid t=…, k=…` header for one push service (RFC 8292).

    A token is signed per push service origin and reused for an hour (RFC 8292 allows reuse;
    signing each message costs CPU the reminder worker needs). Each signature gets a claims
    dict of its own: py_vapid and pywebpush write into the dict they are given, so a shared
    one would carry one service's `aud` or a stale `exp` to the next.
    """
    now = time.time()
    key = (id(settings.signer), settings.subject, audience)
    cached = _vapid_tokens.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    claims = {"sub": settings.subject, "aud": audience, "exp": int(now) + VAPID_TOKEN_SECONDS}
    headers = settings.signer.sign(claims)
    with _vapid_lock:
        _vapid_tokens[key] = (now + VAPID_REUSE_SECONDS, headers)
    return headers


def _deliver(settings: _Settings, sub_id: int, info: dict, body: bytes, ttl: int,
             headers: dict) -> Outcome:
    """POST one encrypted message, retrying 429/5xx/network errors with bounded backoff.

    Never raises. A Retry-After longer than PUSH_RETRY_MAX_WAIT_SECONDS is not slept through:
    the outcome is `retry_later` with the wait, for the caller to reschedule.
    """
    parts = urlsplit(info["endpoint"])
    audience = f"{parts.scheme}://{parts.netloc}"
    outcome = Outcome(sub_id, "failed")
    for attempt in range(1, settings.max_attempts + 1):
        outcome.attempts = attempt
        wait = settings.base_wait * (2 ** (attempt - 1)) * (1 + random.random() / 4)
        try:
            response = webpush(info, data=body, content_encoding="aes128gcm", ttl=ttl,
                               headers={**headers, **_vapid_headers(settings, audience)},
                               timeout=settings.timeout, requests_session=_http())
            outcome.status, outcome.http_status, outcome.error = "accepted", \
                response.status_code, None
            return outcome
        except WebPushException as exc:
            status = exc.status_code
            outcome.http_status, outcome.error = status, f"HTTP {status}"
            if status in (404, 410):
                outcome.status = "gone"
                return outcome
            if status is None or not (status == 429 or status >= 500):
                outcome.status = "failed"
                return outcome
            asked = _retry_after_seconds(exc.retry_after)
            if asked is not None:
                wait = max(wait, asked)
        except requests.RequestException as exc:
            outcome.http_status, outcome.error = None, type(exc).__name__
        except Exception as exc:  # encryption or signing: retrying will not help
            log.exception("push %s: cannot send", sub_id)
            outcome.status, outcome.error = "failed", type(exc).__name__
            return outcome
        if attempt == settings.max_attempts or wait > settings.max_wait:
            outcome.status, outcome.retry_after = "retry_later", wait
            return outcome
        time.sleep(wait)
    return outcome


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(size: int) -> ThreadPoolExecutor:
    """One shared pool: its threads keep their keep-alive sessions between batches."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="push")
        return _pool


def _load_subscriptions(user_ids: set[int]) -> dict[int, list[tuple[int, dict]]]:
    found: dict[int, list[tuple[int, dict]]] = {}
    ids = sorted(user_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(PushSubscription.user_id, PushSubscription.id, PushSubscription.endpoint,
                   PushSubscription.p256dh, PushSubscription.auth)
            .where(PushSubscription.user_id.in_(ids[start:start + 500]))
            .order_by(PushSubscription.id))
        for user_id, sub_id, endpoint, p256dh, auth in rows:
            found.setdefault(user_id, []).append(
                (sub_id, {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}))
    return found


def _record(outcomes: Iterable[Outcome]) -> None:
    """Apply what the push services told us, in a transaction of our own."""
    gone, ok, bad = [], [], []
    for o in outcomes:
        (gone if o.status == "gone" else ok if o.status == "accepted" else bad).append(
            o.subscription_id)
    if not (gone or ok or bad):
        return
    now = utcnow()
    table = PushSubscription.__table__
    with db.engine.begin() as conn:
        for start in range(0, max(len(gone), len(ok), len(bad)), 500):
            if gone[start:start + 500]:
                conn.execute(delete(table).where(table.c.id.in_(gone[start:start + 500])))
            if ok[start:start + 500]:
                conn.execute(update(table).where(table.c.id.in_(ok[start:start + 500]))
                             .values(last_success_at=now, failure_count=0))
            if bad[start:start + 500]:
                conn.execute(update(table).where(table.c.id.in_(bad[start:start + 500]))
                             .values(last_failure_at=now,
                                     failure_count=table.c.failure_count + 1))
    if gone:
        log.info("push: removed %d expired subscription(s)", len(gone))


def _headers(urgency: str, topic: str | None) -> dict:
    headers = {"Urgency": urgency}
    if topic:
        headers["Topic"] = _topic_header(topic)
    return headers


def send_many(jobs: Iterable[PushJob], *, concurrency: int | None = None,
              per_subscription_payload=None) -> list[PushResult]:
    """Send many notifications, at most `concurrency` (PUSH_CONCURRENCY) at a time.

    Returns one PushResult per job, in order; never raises. The reminder worker calls this
    with a claimed batch, after committing the claim.
    `per_subscription_payload(job, subscription_id) -> dict | None` may replace a job's payload
    for one device (e.g. a token per device).
    """
    jobs = list(jobs)
    results = [PushResult(key=job.key, user_id=_user_id(job.user)) for job in jobs]
    try:
        settings = _settings()
        encoded: dict[int, tuple[bytes, dict]] = {}
        for i, job in enumerate(jobs):
            try:
                _check_job(job.ttl, job.urgency, job.topic)
                encoded[i] = (encode_payload(job.payload), _headers(job.urgency, job.topic))
            except ValueError as exc:
                results[i].error = str(exc)
                log.error("push to user %s refused: %s", results[i].user_id, exc)
        subscriptions = _load_subscriptions({results[i].user_id for i in encoded})
        tasks = []
        for i, (body, headers) in encoded.items():
            for sub_id, info in subscriptions.get(results[i].user_id, []):
                device_body = body
                if per_subscription_payload is not None:
                    device_body = encode_payload(per_subscription_payload(jobs[i], sub_id))
                tasks.append((i, sub_id, info, device_body, jobs[i].ttl, headers))
        size = max(1, concurrency or int(current_app.config.get("PUSH_CONCURRENCY", 16)))
        if len(tasks) <= 1:
            outcomes = [_deliver(settings, *t[1:]) for t in tasks]
        else:
            pool = _executor(size) if concurrency is None else None
            if pool is None:
                with ThreadPoolExecutor(max_workers=size, thread_name_prefix="push") as own:
                    outcomes = list(own.map(lambda t: _deliver(settings, *t[1:]), tasks))
            else:
                outcomes = list(pool.map(lambda t: _deliver(settings, *t[1:]), tasks))
        for (i, *_rest), outcome in zip(tasks, outcomes, strict=True):
            results[i].outcomes.append(outcome)
            if outcome.status == "accepted":
                results[i].accepted += 1
        try:
            _record(outcomes)
        except Exception:
            log.exception("push: could not record delivery outcomes")
    except Exception:
        log.exception("push: sending failed")
    for result in results:
        for o in result.outcomes:
            if o.status != "accepted":
                log.warning("push to user %s device %s: %s (%s, %d attempt(s))",
                            result.user_id, o.subscription_id, o.status, o.error, o.attempts)
    return results


def send(user, payload: dict, *, ttl: int, urgency: str = "normal",
         topic: str | None = None) -> int:
    """Send `payload` to every device of `user`; the number of devices that accepted it.

    Never raises into the caller: refusals (payload over 4 KB, bad ttl/urgency) and failures
    are logged and count as 0. Subscriptions the push service says are gone (404/410) are
    deleted. 429/5xx are retried with bounded backoff honouring Retry-After.
    """
    try:
        result = send_many([PushJob(user=user, payload=payload, ttl=ttl, urgency=urgency,
                                    topic=topic)])
        return result[0].accepted
    except Exception:
        log.exception("push: send failed")
        return 0


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
