"""WebAuthn ceremonies (py_webauthn): register a passkey, sign in, re-authenticate, join.

Each ceremony has one pending challenge row (models.WebAuthnChallenge) that a cookie of its own
points at. The row is consumed -- deleted and committed -- before the response is verified, so
a challenge serves one try only, whether that try succeeds or not.

Not the session: the sign-in page asks for options as it opens (passkey autofill), and an
answer that set the session cookie could come in after a password sign-in made meanwhile and
put the signed-out session back.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import after_this_request, current_app, request
from flask_babel import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import policy
from ..errors import Conflict, Forbidden, Gone, UserError
from ..extensions import db
from . import fresh, services
from .models import Invitation, Passkey, User, WebAuthnChallenge, new_webauthn_handle
from .services import SpaceClosed, Unauthorized, now

PURPOSES = ("register", "authenticate", "reauth", "join")
CHALLENGE_SECONDS = 300
TIMEOUT_MS = 120_000
TRANSPORTS = {t.value for t in AuthenticatorTransport}


@dataclass(frozen=True)
class Pending:
    challenge: bytes
    user_id: int | None
    payload: dict | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _cookie(purpose: str) -> str:
    return f"webauthn_{purpose}"


def _answer_with_cookie(purpose: str, token: str | None, seconds: int = 0) -> None:
    """The response (whatever it turns out to be) sets this ceremony's cookie, or deletes it."""
    config = current_app.config
    options = dict(path="/", secure=config["SESSION_COOKIE_SECURE"], httponly=True,
                   samesite=config["SESSION_COOKIE_SAMESITE"])

    @after_this_request
    def _set(response):
        if token is None:
            response.delete_cookie(_cookie(purpose), **options)
        else:
            response.set_cookie(_cookie(purpose), token, max_age=seconds, **options)
        return response


def _store(purpose: str, challenge: bytes, user: User | None = None,
           payload: dict | None = None) -> None:
    # Forget whatever ceremony of this kind this browser had started, and any expired ones.
    previous = request.cookies.get(_cookie(purpose))
    stale = WebAuthnChallenge.expires_at < now()
    if previous:
        stale = stale | (WebAuthnChallenge.token == previous)
    db.session.execute(db.delete(WebAuthnChallenge).where(stale))
    token = secrets.token_urlsafe(32)
    seconds = current_app.config.get("WEBAUTHN_CHALLENGE_SECONDS", CHALLENGE_SECONDS)
    db.session.add(WebAuthnChallenge(
        token=token, purpose=purpose, user_id=user.id if user else None, challenge=challenge,
        payload=payload, expires_at=now() + timedelta(seconds=seconds),
    ))
    db.session.commit()
    _answer_with_cookie(purpose, token, seconds)


def _consume(purpose: str, user: User | None = None) -> Pending:
    token = request.cookies.get(_cookie(purpose))
    if token is not None:
        _answer_with_cookie(purpose, None)
    expired = Gone(_("This request has expired or was already used. Please try again."))
    if not isinstance(token, str):
        raise expired
    row = db.session.scalar(db.select(WebAuthnChallenge).filter_by(token=token, purpose=purpose))
    if row is None:
        raise expired
    pending = Pending(challenge=row.challenge, user_id=row.user_id, payload=row.payload)
    is_expired = row.expires_at < now()
    deleted = db.session.execute(
        db.delete(WebAuthnChallenge).where(WebAuthnChallenge.id == row.id)
    ).rowcount
    db.session.commit()
    if deleted != 1 or is_expired:  # deleted != 1: another request consumed it first
        raise expired
    if user is not None and pending.user_id != user.id:
        raise Forbidden(_("This request belongs to another account."))
    return pending


def _rp() -> tuple[str, str]:
    return current_app.config["WEBAUTHN_RP_ID"], current_app.config["WEBAUTHN_ORIGIN"]


def _as_dict(credential) -> dict:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError:
            credential = None
    if not isinstance(credential, dict) or not isinstance(credential.get("response"), dict):
        raise UserError(_("The passkey response could not be read. Please try again."))
    return credential


def _raw_id(credential: dict) -> bytes:
    raw = credential.get("rawId")
    try:
        if not isinstance(raw, str) or not raw:
            raise ValueError
        return base64url_to_bytes(raw)
    except Exception:  # noqa: BLE001 - any undecodable id is a malformed response
        raise UserError(_("The passkey response could not be read. Please try again.")) from None


def _registration_options(*, user_name: str, display_name: str, handle: bytes,
                          exclude: list[Passkey]) -> tuple[dict, bytes]:
    rp_id, _origin = _rp()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=current_app.config["WEBAUTHN_RP_NAME"],
        user_name=user_name,
        user_id=handle,
        user_display_name=display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in exclude],
    )
    return json.loads(options_to_json(options)), options.challenge


def _verify_registration(credential: dict, challenge: bytes):
    rp_id, origin = _rp()
    try:
        return verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - every verification failure is a refusal
        current_app.logger.info("passkey registration refused: %s", exc)
        raise UserError(_("This passkey could not be verified. Please try again.")) from None


def _add_passkey(user: User, verified, credential: dict, name: str | None,
                 user_agent: str | None) -> Passkey:
    if db.session.scalar(db.select(Passkey.id).filter_by(
            credential_id=verified.credential_id)) is not None:
        raise Conflict(_("This passkey is already registered."))
    transports = credential["response"].get("transports")
    transports = [t for t in transports if t in TRANSPORTS] if isinstance(transports, list) else []
    name = (name or "").strip() or services.device_name(user_agent)
    passkey = Passkey(
        user=user, credential_id=verified.credential_id,
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=",".join(transports) or None, backed_up=bool(verified.credential_backed_up),
        name=services.validate_passkey_name(name[:80]), last_used_at=None,
    )
    db.session.add(passkey)
    return passkey


# ---- Register a passkey for the signed-in user -----------------------------------------

def begin_registration(user: User) -> dict:
    options, challenge = _registration_options(
        user_name=user.email, display_name=user.display_name, handle=user.webauthn_handle,
        exclude=user.passkeys,
    )
    _store("register", challenge, user)
    return options


def finish_registration(user: User, credential, name: str | None = None,
                        user_agent: str | None = None) -> Passkey:
    credential = _as_dict(credential)
    pending = _consume("register", user)
    if name:
        services.validate_passkey_name(name)
    verified = _verify_registration(credential, pending.challenge)
    passkey = _add_passkey(user, verified, credential, name, user_agent)
    db.session.commit()
    return passkey


# ---- Sign in / re-authenticate with a passkey ------------------------------------------

def _request_options(allow: list[Passkey]) -> tuple[dict, bytes]:
    rp_id, _origin = _rp()
    options = generate_authentication_options(
        rp_id=rp_id, timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
        allow_credentials=[
            PublicKeyCredentialDescriptor(
                id=p.credential_id,
                transports=[AuthenticatorTransport(t) for t in (p.transports or "").split(",")
                            if t in TRANSPORTS] or None,
            ) for p in allow
        ],
    )
    return json.loads(options_to_json(options)), options.challenge


def begin_authentication() -> dict:
    """Options for a discoverable-credential sign-in: no account named, no list of keys."""
    options, challenge = _request_options([])
    _store("authenticate", challenge)
    return options


def _assert(credential, pending: Pending, only_user: User | None = None) -> Passkey:
    credential = _as_dict(credential)
    raw_id = _raw_id(credential)
    passkey = db.session.scalar(db.select(Passkey).filter_by(credential_id=raw_id))
    if passkey is None or (only_user is not None and passkey.user_id != only_user.id):
        raise Unauthorized(_("This passkey is not registered here. "
                             "Try another passkey, or sign in with your password."))
    handle = credential["response"].get("userHandle")
    if handle and handle != _b64(passkey.user.webauthn_handle):
        raise Unauthorized(_("This passkey does not match its account."))
    rp_id, origin = _rp()
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=pending.challenge,
            expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=passkey.public_key,
            # A counter that stays 0 (synced passkeys) is accepted; one that does not move
            # forward from a non-zero value is refused as a possible clone.
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except Exception as exc:  # noqa: BLE001 - every verification failure is a refusal
        current_app.logger.info("passkey assertion refused: %s", exc)
        raise Unauthorized(_("This passkey could not be verified. Please try again.")) from None
    if not passkey.user.is_active:
        if policy.may_reopen(passkey.user):
            raise SpaceClosed(passkey.user)  # its owner may reopen the space they closed
        raise Unauthorized(_("This account is closed."))
    passkey.sign_count = verified.new_sign_count
    passkey.backed_up = bool(verified.credential_backed_up)
    passkey.last_used_at = now()
    return passkey


def finish_authentication(credential) -> User:
    pending = _consume("authenticate")
    passkey = _assert(credential, pending)
    db.session.commit()
    return passkey.user


def begin_reauth(user: User) -> dict:
    if not user.passkeys:
        raise UserError(_("You have no passkey yet. Confirm with your password."))
    options, challenge = _request_options(user.passkeys)
    _store("reauth", challenge, user)
    return options


def finish_reauth(user: User, credential) -> None:
    pending = _consume("reauth", user)
    _assert(credential, pending, only_user=user)
    db.session.commit()
    fresh.mark_fresh()


# ---- Join: redeem an invitation with a new passkey -------------------------------------

def begin_join(code: str, *, display_name: str, email: str) -> dict:
    invitation = services.find_invitation(code)
    details = services.check_new_account(invitation, display_name=display_name, email=email)
    handle = new_webauthn_handle()
    options, challenge = _registration_options(
        user_name=details["email"], display_name=details["display_name"], handle=handle,
        exclude=[],
    )
    _store("join", challenge, payload={
        "invitation_id": invitation.id, "handle": _b64(handle), **details,
    })
    return options


def finish_join(credential, *, language: str, timezone: str, name: str | None = None,
                user_agent: str | None = None) -> User:
    credential = _as_dict(credential)
    pending = _consume("join")
    payload = pending.payload or {}
    invitation: Invitation = services.invitation_by_id(payload.get("invitation_id"))
    verified = _verify_registration(credential, pending.challenge)
    user = services.redeem_invitation(
        invitation, display_name=payload.get("display_name", ""), email=payload.get("email", ""),
        webauthn_handle=base64url_to_bytes(payload["handle"]),
        language=language, timezone=timezone,
    )
    _add_passkey(user, verified, credential, name, user_agent)
    db.session.commit()
    return user
