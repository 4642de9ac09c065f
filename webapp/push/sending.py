"""Sending: many notifications at bounded concurrency, VAPID-signed, retried with backoff, and
the push services' answers recorded (dead subscriptions deleted) in a transaction of their
own. Never raises into the caller."""

from __future__ import annotations

import base64
import email.utils
import hashlib
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
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import bindparam, delete, select, update

from ..extensions import db
from . import vapid
from .devices import user_id, utcnow
from .models import PushSubscription
from .payloads import encode_payload

log = logging.getLogger(__name__)

URGENCIES = ("very-low", "low", "normal", "high")
MAX_TTL = 28 * 24 * 3600  # the longest push services keep a message
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


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


@cache
def _subscriptions_of():
    # Built once, the ids bound at each run (see chat.services.messages._accounts).
    return (select(PushSubscription.user_id, PushSubscription.id, PushSubscription.endpoint,
                   PushSubscription.p256dh, PushSubscription.auth)
            .where(PushSubscription.user_id.in_(bindparam("ids", expanding=True)))
            .order_by(PushSubscription.id))


def _load_subscriptions(user_ids: set[int]) -> dict[int, list[tuple[int, dict]]]:
    found: dict[int, list[tuple[int, dict]]] = {}
    ids = sorted(user_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(_subscriptions_of(), {"ids": ids[start:start + 500]})
        for owner_id, sub_id, endpoint, p256dh, auth in rows:
            found.setdefault(owner_id, []).append(
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
    results = [PushResult(key=job.key, user_id=user_id(job.user)) for job in jobs]
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

