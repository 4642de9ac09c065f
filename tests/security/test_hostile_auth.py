"""Hostile input against sign-in: each attempt gets a 4xx with a clear message, never a 500,
and leaves the accounts data exactly as it was (users, passkeys with their counters and
last-used dates, invitations). A pending WebAuthn challenge is consumed by any try: that is the
one-ceremony rule, not a change to anyone's data."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from tests.accounts.authenticator import SoftAuthenticator, b64u
from tests.accounts.conftest import JSON, register_passkey
from tests.csrf import token_in
from tests.factories import PASSWORD
from webapp.accounts import services
from webapp.accounts.models import Invitation, Passkey, User, WebAuthnChallenge
from webapp.extensions import db


@pytest.fixture
def make_user(make_user):
    """Messages are asserted in English; users default to French."""

    def make(role: str = "patient", **fields):
        fields.setdefault("language", "en")
        return make_user(role, **fields)

    return make


@pytest.fixture
def authenticator(app):
    return SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"])


def snapshot(app):
    with app.app_context():
        return {
            "users": [(u.id, u.email, u.display_name, u.password_hash, u.session_token,
                       u.language, u.timezone, u.theme, u.large_text)
                      for u in db.session.scalars(db.select(User).order_by(User.id))],
            "passkeys": [(p.id, p.user_id, p.name, p.sign_count, p.last_used_at, p.public_key)
                         for p in db.session.scalars(db.select(Passkey).order_by(Passkey.id))],
            "invitations": [(i.id, i.redeemed_at, i.redeemed_by_id)
                            for i in db.session.scalars(db.select(Invitation))],
        }


def refused(response, status=None, text=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json(silent=True)
    message = body["error"] if body else response.get_data(as_text=True)
    assert message and "Traceback" not in message
    if text is not None:
        assert text in message, message
    return message


@pytest.fixture
def user_with_passkey(app, client, make_user, login, authenticator):
    """A patient with one passkey used once (counter 1), signed out again."""
    user = make_user("patient")
    login(client, user)
    assert register_passkey(client, authenticator).status_code == 200
    client.post("/accounts/sign-out")
    options = client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()
    assert client.post("/accounts/passkey/verify", json={"credential": authenticator.get(options)},
                       headers=JSON).status_code == 200
    client.post("/accounts/sign-out")
    return user


def _options(client):
    return client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()


def _mutate(credential, path, value):
    copy = json.loads(json.dumps(credential))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_malformed_sign_in_responses(app, client, user_with_passkey, authenticator):
    before = snapshot(app)
    good = authenticator.get(_options(client), sign_count=50)
    malformed = [
        None, "not json at all", 42, [], {}, {"credential": None},
        {"credential": "{broken"}, {"credential": []},
        {"credential": {"id": "x"}},
        {"credential": _mutate(good, ["rawId"], "!!!not base64!!!")},
        {"credential": _mutate(good, ["rawId"], 12345)},
        {"credential": _mutate(good, ["id"], "different")},
        {"credential": _mutate(good, ["type"], "password")},
        {"credential": _mutate(good, ["response", "clientDataJSON"], b64u(b"{not json"))},
        {"credential": _mutate(good, ["response", "clientDataJSON"], "@@@")},
        {"credential": _mutate(good, ["response", "authenticatorData"], b64u(b"short"))},
        {"credential": _mutate(good, ["response", "signature"], b64u(b"\x30\x00"))},
        {"credential": _mutate(good, ["response", "userHandle"], b64u(b"someone else"))},
        {"credential": _mutate(good, ["response", "userHandle"], 7)},
        {"credential": _mutate(good, ["response"], "nope")},
    ]
    for body in malformed:
        _options(client)  # a fresh, valid ceremony each time: only the response is bad
        if body is None:
            response = client.post("/accounts/passkey/verify", data="\x00\xff",
                                   content_type="application/json", headers=JSON)
        else:
            response = client.post("/accounts/passkey/verify", json=body, headers=JSON)
        refused(response)
    assert snapshot(app) == before
    assert client.get("/home").status_code == 302


def test_malformed_registration_and_join_responses(app, client, make_user, login, authenticator):
    user = make_user("patient")
    login(client, user)
    before = snapshot(app)
    options = client.post("/accounts/me/passkeys/options", json={}, headers=JSON).get_json()
    good = authenticator.create(options)
    for bad in (None, "x", {"id": "a"}, _mutate(good, ["response", "attestationObject"], "AAAA"),
                _mutate(good, ["response", "attestationObject"], b64u(b"\xa1\x63fmt\x64none")),
                _mutate(good, ["rawId"], "%%%"), _mutate(good, ["response", "transports"], "usb")):
        client.post("/accounts/me/passkeys/options", json={}, headers=JSON)
        refused(client.post("/accounts/me/passkeys", json={"credential": bad}, headers=JSON))
    assert snapshot(app) == before
    client.post("/accounts/sign-out")
    refused(client.post("/accounts/join/passkey", json={"credential": good}, headers=JSON), 410)
    refused(client.post("/accounts/join/passkey/options", json=["not", "an", "object"],
                        headers=JSON), 400)
    assert snapshot(app) == before


def test_a_replayed_sign_in_response_is_refused(app, client, make_user, login, authenticator):
    user = make_user("patient")
    login(client, user)
    register_passkey(client, authenticator)
    client.post("/accounts/sign-out")
    assertion = authenticator.get(_options(client))
    assert client.post("/accounts/passkey/verify", json={"credential": assertion},
                       headers=JSON).status_code == 200
    client.post("/accounts/sign-out")
    before = snapshot(app)
    # Replayed as is: its challenge was consumed.
    refused(client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON),
            410, "expired or was already used")
    # Replayed into a new ceremony: the challenge does not match.
    _options(client)
    refused(client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON),
            401, "could not be verified")
    # Replayed from another browser that never started a ceremony.
    refused(app.test_client().post("/accounts/passkey/verify", json={"credential": assertion},
                                   headers=JSON), 410)
    assert snapshot(app) == before
    assert client.get("/home").status_code == 302


def test_a_replayed_registration_is_refused(app, client, make_user, login, authenticator):
    login(client, make_user("patient"))
    options = client.post("/accounts/me/passkeys/options", json={}, headers=JSON).get_json()
    credential = authenticator.create(options)
    assert client.post("/accounts/me/passkeys", json={"credential": credential},
                       headers=JSON).status_code == 200
    before = snapshot(app)
    refused(client.post("/accounts/me/passkeys", json={"credential": credential}, headers=JSON),
            410)
    client.post("/accounts/me/passkeys/options", json={}, headers=JSON)
    refused(client.post("/accounts/me/passkeys", json={"credential": credential}, headers=JSON),
            400)
    assert snapshot(app) == before


def test_a_wrong_origin_is_refused(app, client, user_with_passkey, authenticator):
    before = snapshot(app)
    for origin in ("https://evil.example", "http://localhost:5001", "http://127.0.0.1:5000"):
        assertion = authenticator.get(_options(client), origin=origin, sign_count=90)
        refused(client.post("/accounts/passkey/verify", json={"credential": assertion},
                            headers=JSON), 401, "could not be verified")
    # A wrong RP ID (another site's passkey) too.
    assertion = authenticator.get(_options(client), rp_id="evil.example", sign_count=91)
    refused(client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON),
            401)
    assert snapshot(app) == before


def test_a_wrong_origin_at_registration_is_refused(app, client, make_user, login):
    login(client, make_user("patient"))
    before = snapshot(app)
    evil = SoftAuthenticator(origin="https://evil.example")
    response = register_passkey(client, evil)
    refused(response, 400, "could not be verified")
    assert snapshot(app) == before


def test_an_expired_challenge_is_refused(app, client, user_with_passkey, authenticator):
    before = snapshot(app)
    options = _options(client)
    with app.app_context():
        db.session.execute(db.update(WebAuthnChallenge).values(
            expires_at=services.now() - timedelta(seconds=1)))
        db.session.commit()
    assertion = authenticator.get(options, sign_count=70)
    refused(client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON),
            410, "expired")
    assert snapshot(app) == before
    with app.app_context():  # consumed, not left for another try
        assert db.session.scalar(db.select(db.func.count()).select_from(WebAuthnChallenge)) == 0


def test_an_assertion_without_user_verification_is_refused(app, client, user_with_passkey,
                                                           authenticator):
    before = snapshot(app)
    authenticator.user_verified = False
    assertion = authenticator.get(_options(client), sign_count=80)
    refused(client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON),
            401)
    assert snapshot(app) == before


def test_a_challenge_for_one_ceremony_does_not_serve_another(app, client, user_with_passkey,
                                                             authenticator):
    """A sign-in challenge cannot be spent on a registration, and vice versa."""
    client.post("/accounts/sign-in", data={"email": user_with_passkey.email,
                                           "password": PASSWORD})
    before = snapshot(app)
    options = _options(client)
    client.set_cookie("webauthn_register", client.get_cookie("webauthn_authenticate").value)
    refused(client.post("/accounts/me/passkeys", json={"credential": authenticator.get(options)},
                        headers=JSON), 410)
    assert snapshot(app) == before


def test_a_wrong_password_is_refused(app, client, make_user):
    user = make_user("patient")
    before = snapshot(app)
    for password in ("wrong", "", "x" * 5000, PASSWORD.upper(), PASSWORD + " "):
        refused(client.post("/accounts/sign-in", data={"email": user.email, "password": password}),
                401, "Wrong email or password.")
        services_limiter_reset(app)
    refused(client.post("/accounts/sign-in", data={"email": ["a", "b"]}), 401)
    assert snapshot(app) == before


def services_limiter_reset(app):
    from webapp.extensions import limiter

    with app.app_context():
        limiter.reset()


def test_missing_csrf_token_is_refused(app, client, make_user, login, csrf_enabled,
                                       authenticator):
    user = make_user("patient")
    before = snapshot(app)
    message = refused(client.post("/accounts/sign-in",
                                  data={"email": user.email, "password": PASSWORD}), 400)
    assert "Reload the page" in message
    refused(client.post("/accounts/passkey/options", json={}, headers=JSON), 400)
    refused(client.post("/accounts/passkey/verify", json={"credential": {}}, headers=JSON), 400)
    refused(client.post("/accounts/join", data={"code": "ABCD"}), 400)
    assert client.get("/home").status_code == 302
    # Signed in (the token taken from a real page), each write without it is refused too.
    token = token_in(client.get("/accounts/sign-in").get_data(as_text=True))
    assert client.post("/accounts/sign-in", data={"email": user.email, "password": PASSWORD,
                                                  "csrf_token": token}).status_code == 302
    # Signing in rebuilt the session, so the token comes from a page rendered after it.
    token = token_in(client.get("/accounts/me").get_data(as_text=True))
    before = snapshot(app)
    for path, kwargs in (
        ("/accounts/me/settings", {"data": {"display_name": "Hacked", "language": "en",
                                            "timezone": "UTC", "theme": "dark"}}),
        ("/accounts/me/password", {"data": {"password": "attacker's password"}}),
        ("/accounts/me/password/remove", {}),
        ("/accounts/sign-out-everywhere", {}),
        ("/accounts/me/passkeys/options", {"json": {}, "headers": JSON}),
    ):
        refused(client.post(path, **kwargs), 400)
    assert snapshot(app) == before
    # The header htmx sends (hx-headers on <body>) is accepted.
    ok = client.post("/accounts/me/settings", headers={"X-CSRFToken": token}, data={
        "display_name": "Jeanne", "language": "en", "timezone": "UTC", "theme": "auto"})
    assert ok.status_code == 302


def test_ceremony_starts_are_rate_limited(app, client):
    assert app.config["PASSKEY_CEREMONIES_PER_ADDRESS"] == "120 per minute"
    for _ in range(120):
        assert client.post("/accounts/passkey/options", json={}, headers=JSON).status_code == 200
    refused(client.post("/accounts/passkey/options", json={}, headers=JSON), 429)


def test_base64_helper_round_trips():
    assert base64.urlsafe_b64decode(b64u(b"\xff\xfe") + "==") == b"\xff\xfe"
