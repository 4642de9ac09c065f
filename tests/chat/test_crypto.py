import json
import os

import pytest

from webapp import crypto
from webapp.crypto import CryptoError, Keyring


def test_seal_open_round_trip_and_key_id(tmp_path):
    ring = Keyring.load(tmp_path)
    sealed = ring.seal("Pansement à refaire demain", b"ctx")
    assert b"Pansement" not in sealed
    assert crypto.key_id_of(sealed) == ring.current
    assert ring.open_text(sealed, b"ctx") == "Pansement à refaire demain"
    # A fresh nonce each time: the same text never seals to the same bytes.
    assert ring.seal("x", b"ctx") != ring.seal("x", b"ctx")


def test_keyring_file_is_private_and_stable(tmp_path):
    first = Keyring.load(tmp_path)
    second = Keyring.load(tmp_path)
    assert first.keys == second.keys
    assert oct(os.stat(tmp_path / "keyring.json").st_mode & 0o777) == "0o600"


def test_wrong_context_or_tampering_refuses(tmp_path):
    ring = Keyring.load(tmp_path)
    sealed = ring.seal("secret", b"message:1")
    with pytest.raises(CryptoError):
        ring.open(sealed, b"message:2")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(CryptoError):
        ring.open(bytes(tampered), b"message:1")
    with pytest.raises(CryptoError):
        ring.open(b"plaintext", b"")


def test_rotation_keeps_old_values_readable(tmp_path):
    ring = Keyring.load(tmp_path)
    old_id = ring.current
    sealed = ring.seal("old", b"a")
    new_id = ring.add_key()
    assert new_id != old_id and ring.current == new_id
    reloaded = Keyring.load(tmp_path)
    assert reloaded.current == new_id
    assert reloaded.open_text(sealed, b"a") == "old"
    resealed = reloaded.reseal(sealed, b"a")
    assert crypto.key_id_of(resealed) == new_id
    assert reloaded.open_text(resealed, b"a") == "old"
    assert set(json.loads((tmp_path / "keyring.json").read_text())["keys"]) == {old_id, new_id}


def test_keys_from_environment_spec(tmp_path):
    import base64
    import secrets

    k1 = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    k2 = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    old = Keyring.from_spec(f"one:{k1}")
    sealed = old.seal("hello")
    both = Keyring.load(tmp_path, f"one:{k1},two:{k2}")
    assert both.current == "two"
    assert both.open_text(sealed) == "hello"
    assert not (tmp_path / "keyring.json").exists()
    with pytest.raises(CryptoError):
        both.add_key()
    with pytest.raises(CryptoError):
        Keyring.from_spec("bad")
    with pytest.raises(CryptoError):
        Keyring.from_spec("short:AAAA")
