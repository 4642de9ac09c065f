"""The server's VAPID identity (RFC 8292): one P-256 key pair for the whole deployment.

The private key comes from VAPID_PRIVATE_KEY (a PEM, or the raw 32-byte scalar in base64url as
printed by `vapid --gen`-style tools) or is generated once into instance/vapid_private.pem (0600).
Browsers bind each subscription to the public key: changing the key orphans every subscription,
so the generated file must be kept (and backed up) with the instance folder.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid

KEY_FILE = "vapid_private.pem"

_lock = threading.Lock()
_cache: dict[str, Vapid] = {}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _instance_dir() -> Path:
    return Path(current_app.config.get("INSTANCE_DIR") or current_app.instance_path)


def _load_from_text(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        raw = b64url_decode(text)
        if len(raw) == 32:
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
        else:  # DER, as some tools print it
            key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("VAPID_PRIVATE_KEY must be a P-256 (prime256v1) EC private key")
    return key


def _generate_into(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: keep its key
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _private_key() -> ec.EllipticCurvePrivateKey:
    configured = current_app.config.get("VAPID_PRIVATE_KEY")
    if configured:
        return _load_from_text(configured)
    path = _instance_dir() / KEY_FILE
    if not path.exists():
        _generate_into(path)
    return _load_from_text(path.read_text())


def identity() -> Vapid:
    """The py_vapid signer (cached per key source; thread-safe to share for signing)."""
    source = current_app.config.get("VAPID_PRIVATE_KEY") or str(_instance_dir() / KEY_FILE)
    signer = _cache.get(source)
    if signer is None:
        with _lock:
            signer = _cache.get(source)
            if signer is None:
                signer = Vapid(private_key=_private_key())
                _cache[source] = signer
    return signer


def application_server_key() -> str:
    """The public key as the browser wants it: base64url of the uncompressed point (65 bytes)."""
    public = identity().public_key.public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
    return b64url(public)


def subject() -> str:
    """The `sub` claim: a contact push services can reach about this sender."""
    email = (current_app.config.get("VAPID_CLAIM_EMAIL") or "").strip()
    if email.startswith(("mailto:", "https://")):
        return email
    return f"mailto:{email}"
