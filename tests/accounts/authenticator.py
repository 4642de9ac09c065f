"""A small software authenticator, so the server's real WebAuthn verification runs in tests.

It answers the JSON options our server sends with the JSON a browser would post back
(credential.toJSON()): an ES256 key, "none" attestation, a CBOR COSE key in the attested
credential data, and signed assertions whose counter it keeps (or leaves at 0, as synced
passkeys do).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:5000"
    counter_step: int = 1          # 0 = a synced passkey whose counter stays at 0
    user_verified: bool = True
    credentials: list[Credential] = field(default_factory=list)

    # ---- registration -------------------------------------------------------------------
    def create(self, options: dict, *, origin: str | None = None,
               challenge: str | None = None) -> dict:
        """navigator.credentials.create() → the browser's toJSON() of the new credential."""
        public_key = options.get("publicKey", options)
        rp_id = public_key["rp"]["id"]
        cred = Credential(
            credential_id=secrets.token_bytes(32), key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id, user_handle=unb64u(public_key["user"]["id"]),
        )
        client_data = self._client_data("webauthn.create", challenge or public_key["challenge"],
                                         origin)
        numbers = cred.key.public_key().public_numbers()
        cose_key = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                                -3: numbers.y.to_bytes(32, "big")})
        flags = UP | AT | (UV if self.user_verified else 0)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", 0)
            + bytes(16) + struct.pack(">H", len(cred.credential_id)) + cred.credential_id
            + cose_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(cred)
        return {
            "id": b64u(cred.credential_id), "rawId": b64u(cred.credential_id),
            "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(client_data),
                         "attestationObject": b64u(attestation), "transports": ["internal"]},
        }

    # ---- assertion ----------------------------------------------------------------------
    def get(self, options: dict, *, credential: Credential | None = None,
            origin: str | None = None, sign_count: int | None = None,
            rp_id: str | None = None) -> dict:
        """navigator.credentials.get() → the browser's toJSON() of the assertion."""
        public_key = options.get("publicKey", options)
        cred = credential or self.credentials[-1]
        if sign_count is None:
            cred.sign_count += self.counter_step
            sign_count = cred.sign_count
        client_data = self._client_data("webauthn.get", public_key["challenge"], origin)
        flags = UP | (UV if self.user_verified else 0)
        auth_data = (hashlib.sha256((rp_id or cred.rp_id).encode()).digest() + bytes([flags])
                     + struct.pack(">I", sign_count))
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64u(cred.credential_id), "rawId": b64u(cred.credential_id),
            "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(client_data), "authenticatorData": b64u(auth_data),
                         "signature": b64u(signature), "userHandle": b64u(cred.user_handle)},
        }

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()
