"""Seal and open bytes at rest with AES-256-GCM. Knows nothing of Flask requests or domains.

A sealed value is self-describing, so keys can rotate while old rows stay readable:

    b"\\x01" | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 bytes) | ciphertext + tag

`aad` (associated data) binds a ciphertext to the row it belongs to (for example
b"chat.message:<client id>"): a ciphertext copied into another row no longer opens.

Keys come, in this order, from
  * HEALTHSPACE_KEYS in the environment: "id1:base64key,id2:base64key" (32-byte keys,
    URL-safe base64); the LAST one seals, all of them open. Operators rotate by appending.
  * instance/keyring.json (0600), created on first use with one random key.

Domains register their sealed columns with `register_sealed(Model, "column", aad=fn)` so
`flask keys rotate` can re-seal every row under the current key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
KEYRING_FILE = "keyring.json"


class CryptoError(Exception):
    """A value could not be opened: wrong key, tampered bytes, or an unknown key id."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _new_key_id(existing) -> str:
    while True:
        key_id = "k" + secrets.token_hex(4)
        if key_id not in existing:
            return key_id


class Keyring:
    def __init__(self, keys: dict[str, bytes], current: str, path: Path | None = None):
        if current not in keys:
            raise CryptoError(f"current key {current!r} is not in the keyring")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise CryptoError(f"key {key_id!r} must be {KEY_BYTES} bytes")
            if not key_id or len(key_id) > 32 or not key_id.isascii() or ":" in key_id:
                raise CryptoError(f"bad key id {key_id!r}")
        self.keys = dict(keys)
        self.current = current
        self.path = path  # None when the keys come from the environment
        self._aead = {key_id: AESGCM(key) for key_id, key in self.keys.items()}

    # ---- loading ----------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        keys: dict[str, bytes] = {}
        last = None
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key_id, sep, encoded = part.partition(":")
            if not sep:
                raise CryptoError("HEALTHSPACE_KEYS entries are id:base64key")
            try:
                keys[key_id] = _unb64(encoded)
            except ValueError as exc:
                raise CryptoError(f"key {key_id!r} is not base64") from exc
            last = key_id
        if last is None:
            raise CryptoError("HEALTHSPACE_KEYS is empty")
        return cls(keys, last)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """Read the keyring file, creating it (0600, one random key) on first use."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key_id = _new_key_id(())
            data = {"current": key_id, "keys": {key_id: _b64(secrets.token_bytes(KEY_BYTES))}}
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first: read theirs
            else:
                with os.fdopen(fd, "w") as fh:
                    json.dump(data, fh)
        data = json.loads(path.read_text())
        keys = {key_id: _unb64(value) for key_id, value in data["keys"].items()}
        return cls(keys, data["current"], path=path)

    @classmethod
    def load(cls, instance_dir: Path, spec: str | None = None) -> Keyring:
        if spec:
            return cls.from_spec(spec)
        return cls.from_file(Path(instance_dir) / KEYRING_FILE)

    def add_key(self) -> str:
        """Create a new key, make it current and save the file. Old keys stay to open old rows."""
        if self.path is None:
            raise CryptoError(
                "Keys come from HEALTHSPACE_KEYS: append a new id:key there, restart, then rotate."
            )
        key_id = _new_key_id(self.keys)
        key = secrets.token_bytes(KEY_BYTES)
        data = {
            "current": key_id,
            "keys": {**{k: _b64(v) for k, v in self.keys.items()}, key_id: _b64(key)},
        }
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self.keys[key_id] = key
        self._aead[key_id] = AESGCM(key)
        self.current = key_id
        return key_id

    # ---- sealing ----------------------------------------------------------------------

    def seal(self, plaintext: bytes | str, aad: bytes = b"") -> bytes:
        if isinstance(plaintext, str):
            plaintext = plaintext.encode("utf-8")
        key_id = self.current.encode("ascii")
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = bytes([FORMAT_VERSION, len(key_id)]) + key_id
        return header + nonce + self._aead[self.current].encrypt(nonce, plaintext, header + aad)

    def open(self, sealed: bytes, aad: bytes = b"") -> bytes:
        key_id, header, rest = _split(sealed)
        aead = self._aead.get(key_id)
        if aead is None:
            raise CryptoError(f"no key {key_id!r} in the keyring")
        nonce, ciphertext = rest[:NONCE_BYTES], rest[NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, ciphertext, header + aad)
        except InvalidTag as exc:
            raise CryptoError("sealed value does not open (tampered or wrong context)") from exc

    def open_text(self, sealed: bytes, aad: bytes = b"") -> str:
        return self.open(sealed, aad).decode("utf-8")

    def is_current(self, sealed: bytes) -> bool:
        return key_id_of(sealed) == self.current

    def reseal(self, sealed: bytes, aad: bytes = b"") -> bytes:
        return self.seal(self.open(sealed, aad), aad)


def _split(sealed: bytes) -> tuple[str, bytes, bytes]:
    sealed = bytes(sealed)
    if len(sealed) < 2 or sealed[0] != FORMAT_VERSION:
        raise CryptoError("not a sealed value")
    n = sealed[1]
    header = sealed[: 2 + n]
    rest = sealed[2 + n :]
    if len(header) != 2 + n or len(rest) < NONCE_BYTES + 16:
        raise CryptoError("truncated sealed value")
    return header[2:].decode("ascii"), header, rest


def key_id_of(sealed: bytes) -> str:
    return _split(sealed)[0]


# ---- the app's keyring and the registry of sealed columns ------------------------------


def keyring(app=None) -> Keyring:
    """The keyring of `app` (default: the current app), loaded once per app."""
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    ring = app.extensions.get("healthspace.keyring")
    if ring is None:
        instance = app.config.get("INSTANCE_DIR") or app.instance_path
        spec = app.config.get("HEALTHSPACE_KEYS") or os.environ.get("HEALTHSPACE_KEYS")
        ring = app.extensions["healthspace.keyring"] = Keyring.load(Path(instance), spec)
    return ring


def seal(plaintext: bytes | str, aad: bytes = b"") -> bytes:
    return keyring().seal(plaintext, aad)


def open_text(sealed: bytes, aad: bytes = b"") -> str:
    return keyring().open_text(sealed, aad)


def open_bytes(sealed: bytes, aad: bytes = b"") -> bytes:
    return keyring().open(sealed, aad)


@dataclass(frozen=True)
class SealedColumn:
    model: type
    column: str
    aad: Callable[[object], bytes]


SEALED: list[SealedColumn] = []


def register_sealed(model: type, column: str, aad: Callable[[object], bytes] = lambda row: b""):
    """Declare that `model.column` holds sealed bytes, opened with `aad(row)`."""
    SEALED.append(SealedColumn(model, column, aad))


def reseal_all(session, ring: Keyring, batch: int = 500) -> Iterator[tuple[str, int]]:
    """Re-seal every registered column under the current key, one committed batch at a time.

    Yields (model.column, rows re-sealed). Safe to interrupt and run again: rows already
    under the current key are skipped.
    """
    for entry in SEALED:
        model = entry.model
        pk = model.__mapper__.primary_key[0]
        changed = 0
        last = None
        while True:
            query = session.query(model).order_by(pk)
            if last is not None:
                query = query.filter(pk > last)
            rows = query.limit(batch).all()
            if not rows:
                break
            for row in rows:
                value = getattr(row, entry.column)
                if value is not None and not ring.is_current(value):
                    aad = entry.aad(row)
                    setattr(row, entry.column, ring.reseal(value, aad))
                    changed += 1
            last = getattr(rows[-1], pk.key)
            session.commit()
        yield f"{model.__tablename__}.{entry.column}", changed


# ---- `flask keys …` --------------------------------------------------------------------


def cli_group():
    import click
    from flask.cli import AppGroup, with_appcontext

    keys = AppGroup("keys", help="Encryption keys for data at rest.")

    @keys.command("rotate")
    @click.option(
        "--no-new-key",
        is_flag=True,
        help="Only re-seal under the current key (keys from HEALTHSPACE_KEYS).",
    )
    @with_appcontext
    def rotate(no_new_key: bool) -> None:
        """Make a new key current and re-seal every sealed value under it."""
        from .extensions import db

        ring = keyring()
        if ring.path is not None and not no_new_key:
            click.echo(f"New key {ring.add_key()} is now current.")
        else:
            click.echo(f"Re-sealing under the current key {ring.current}.")
        total = 0
        for name, changed in reseal_all(db.session, ring):
            click.echo(f"  {name}: {changed} re-sealed")
            total += changed
        click.echo(f"Done: {total} values re-sealed.")

    @keys.command("status")
    @with_appcontext
    def status() -> None:
        """Which keys exist and how many values each one seals."""
        from collections import Counter

        from .extensions import db

        ring = keyring()
        counts: Counter = Counter()
        for entry in SEALED:
            for (value,) in db.session.query(getattr(entry.model, entry.column)):
                if value is not None:
                    counts[key_id_of(value)] += 1
        for key_id in ring.keys:
            mark = " (current)" if key_id == ring.current else ""
            click.echo(f"{key_id}{mark}: {counts.get(key_id, 0)} values")

    return keys
