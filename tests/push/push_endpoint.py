"""A local Web Push service on 127.0.0.1, for tests and benchmarks (chat, agenda, push).

It plays the part of FCM / Mozilla autopush: it mints subscriptions (a P-256 key pair and an
auth secret per "browser", exactly what `PushSubscription.toJSON()` gives a server) and, for
every POST it receives, checks what a real push service checks and decrypts the payload:

- `Authorization: vapid t=<JWT>, k=<public key>` (RFC 8292): JWT header alg ES256, signature
  verified with k, `aud` = this endpoint's origin, `exp` in the future and within 24 h, `sub`
  a mailto: or https: URI; k equal to the applicationServerKey the subscription was made with
  (when one was given), else 403 as real services answer.
- `TTL` present (an integer ≥ 0), `Urgency` one of very-low/low/normal/high when present,
  `Topic` ≤ 32 base64url characters when present, `Content-Encoding: aes128gcm`, body ≤ 4096.
- the body decrypts (RFC 8291, http_ece) with the subscription's private key and auth secret.

A request that fails a check gets a 4xx and is added to `endpoint.errors` (a test should assert
it is empty). Accepted messages (201) are appended to `endpoint.received` as `Delivery` objects.
Every request, accepted or not, is in `endpoint.requests` (with its status and time).

Script answers per subscription to test deletion and retries:
    endpoint.respond(sub, 429, 500)             # the next two requests get 429, then 500
    endpoint.respond(sub, (429, {"Retry-After": "1"}))
    endpoint.gone(sub)                          # 410 from now on (404: gone(sub, 404))

Usage:
    from tests.push.push_endpoint import PushEndpoint, push_endpoint  # (fixture, see below)

    with PushEndpoint() as endpoint:
        sub = endpoint.subscription()                 # sub.info(): the browser's JSON
        services.subscribe(user, sub.info())          # or POST it to /push/subscriptions
        services.send(user, payload, ttl=60)
        endpoint.wait_for(1)
        assert endpoint.received[0].payload == {...}  # the decrypted JSON
        assert endpoint.errors == []

Import the `push_endpoint` fixture into a conftest (`from tests.push.push_endpoint import
push_endpoint  # noqa: F401`); the root conftest already does.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

URGENCIES = {"very-low", "low", "normal", "high"}
MAX_BODY = 4096
MAX_EXP = 24 * 3600
_AUTH = re.compile(r"^vapid\s+(.+)$", re.IGNORECASE)
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    """One simulated browser subscription."""

    endpoint: str
    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    application_server_key: str | None = None

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def info(self) -> dict:
        """What PushSubscription.toJSON() gives the page."""
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class Delivery:
    """A message the endpoint accepted (201), decrypted."""

    token: str
    body: bytes  # the decrypted plaintext
    headers: dict
    claims: dict
    ttl: int
    urgency: str | None
    topic: str | None
    encrypted_size: int
    at: float = field(default_factory=time.time)

    @property
    def payload(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Request:
    token: str
    status: int
    at: float
    reason: str = ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 -- quiet
        pass

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, reason, extra = self.server.owner._handle(self.path, dict(self.headers), body)
        payload = reason.encode() if status >= 400 else b""
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def do_GET(self):  # noqa: N802
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    owner: PushEndpoint


class PushEndpoint:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, verify: bool = True):
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self.host, self.port = self._server.server_address[:2]
        self.origin = f"http://{self.host}:{self.port}"
        self.verify = verify
        self._subs: dict[str, Subscription] = {}
        self._scripts: dict[str, deque] = {}
        self._gone: dict[str, int] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.received: list[Delivery] = []
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> PushEndpoint:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> PushEndpoint:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- subscriptions and scripted answers -----------------------------------------------
    def subscription(self, application_server_key: str | None = None) -> Subscription:
        """A new browser subscription; pass the app's applicationServerKey to bind it."""
        token = secrets.token_urlsafe(16)
        sub = Subscription(endpoint=f"{self.origin}/push/{token}", token=token,
                           private_key=ec.generate_private_key(ec.SECP256R1()),
                           auth_secret=secrets.token_bytes(16),
                           application_server_key=application_server_key)
        with self._lock:
            self._subs[token] = sub
        return sub

    def respond(self, sub: Subscription, *answers) -> None:
        """Answer the next requests for `sub` with these statuses (or (status, headers))."""
        with self._lock:
            queue = self._scripts.setdefault(sub.token, deque())
            for answer in answers:
                queue.append(answer if isinstance(answer, tuple) else (answer, {}))

    def gone(self, sub: Subscription, status: int = 410) -> None:
        with self._lock:
            self._gone[sub.token] = status

    # -- reading what arrived ---------------------------------------------------------------
    def for_subscription(self, sub: Subscription) -> list[Delivery]:
        with self._lock:
            return [d for d in self.received if d.token == sub.token]

    def requests_for(self, sub: Subscription) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.token == sub.token]

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        """Block until `count` messages were accepted (or the timeout); returns them all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.received)

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.requests.clear()
            self.errors.clear()

    # -- the push service -------------------------------------------------------------------
    def _refuse(self, token: str, status: int, reason: str):
        with self._lock:
            self.errors.append(f"{status} {reason}")
            self.requests.append(Request(token, status, time.time(), reason))
        return status, reason, {}

    def _handle(self, path: str, headers: dict, body: bytes):
        headers = {k.lower(): v for k, v in headers.items()}
        token = path.rsplit("/", 1)[-1]
        with self._lock:
            sub = self._subs.get(token) if path.startswith("/push/") else None
        if sub is None:
            with self._lock:
                self.requests.append(Request(token, 404, time.time(), "unknown"))
            return 404, "unknown subscription", {}
        claims: dict = {}
        if self.verify:
            try:
                claims = self._check_vapid(headers.get("authorization", ""), sub)
            except PermissionError as exc:
                return self._refuse(token, 403, str(exc))
            except ValueError as exc:
                return self._refuse(token, 401, str(exc))
        ttl = headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            return self._refuse(token, 400, f"TTL header missing or invalid: {ttl!r}")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            return self._refuse(token, 400, f"bad Urgency {urgency!r}")
        topic = headers.get("topic")
        if topic is not None and not _TOPIC.match(topic):
            return self._refuse(token, 400, f"bad Topic {topic!r}")
        if headers.get("content-encoding") != "aes128gcm":
            return self._refuse(token, 415, f"Content-Encoding {headers.get('content-encoding')!r}")
        if len(body) > MAX_BODY:
            return self._refuse(token, 413, f"payload of {len(body)} bytes")
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key,
                                     auth_secret=sub.auth_secret, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001 -- any failure to decrypt is a refusal
            return self._refuse(token, 400, f"cannot decrypt: {exc}")

        with self._lock:
            gone = self._gone.get(token)
            script = self._scripts.get(token)
            answer = script.popleft() if script else None
        if gone:
            with self._lock:
                self.requests.append(Request(token, gone, time.time(), "gone"))
            return gone, "subscription expired", {}
        if answer is not None:
            status, extra = answer
            with self._lock:
                self.requests.append(Request(token, status, time.time(), "scripted"))
            return status, "scripted answer", dict(extra)

        delivery = Delivery(token=token, body=plain, headers=headers, claims=claims,
                            ttl=int(ttl), urgency=urgency, topic=topic, encrypted_size=len(body))
        with self._arrived:
            self.received.append(delivery)
            self.requests.append(Request(token, 201, time.time()))
            self._arrived.notify_all()
        return 201, "", {"Location": f"{self.origin}/message/{secrets.token_urlsafe(8)}"}

    def _check_vapid(self, authorization: str, sub: Subscription) -> dict:
        match = _AUTH.match(authorization.strip())
        if not match:
            raise ValueError(f"no vapid Authorization header: {authorization[:40]!r}")
        params = {}
        for part in match.group(1).split(","):
            name, _, value = part.strip().partition("=")
            params[name.strip()] = value.strip()
        jwt, key = params.get("t"), params.get("k")
        if not jwt or not key:
            raise ValueError("vapid header without t= and k=")
        try:
            public_raw = b64url_decode(key)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_raw)
            header_b64, claims_b64, signature_b64 = jwt.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"malformed VAPID token: {exc}") from None
        if header.get("alg") != "ES256":
            raise ValueError(f"JWT alg {header.get('alg')!r}, not ES256")
        if len(signature) != 64:
            raise ValueError("ES256 signature is not 64 bytes")
        der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                         int.from_bytes(signature[32:], "big"))
        try:
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueError("VAPID signature does not verify") from None
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin!r}")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or exp <= now or exp > now + MAX_EXP:
            raise ValueError(f"exp {exp!r} not in the next 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError(f"sub {claims.get('sub')!r} is not mailto: or https:")
        if sub.application_server_key and b64url(public_raw) != sub.application_server_key:
            raise PermissionError("k is not the key this subscription was made with")
        return claims


@pytest.fixture
def push_endpoint():
    """A running PushEndpoint for one test (assert `push_endpoint.errors == []` yourself)."""
    with PushEndpoint() as endpoint:
        yield endpoint
