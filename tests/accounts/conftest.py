"""Accounts test helpers: a software authenticator and the ceremonies driven through routes."""

from __future__ import annotations

import pytest

from tests.accounts.authenticator import SoftAuthenticator

JSON = {"Accept": "application/json"}


@pytest.fixture
def authenticator(app):
    return SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"])


def register_passkey(client, authenticator, name="My phone", **create_kwargs):
    """Run the "add a passkey" ceremony for the signed-in client; returns the verify response."""
    options = client.post("/accounts/me/passkeys/options", json={}, headers=JSON)
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = authenticator.create(options.get_json(), **create_kwargs)
    return client.post("/accounts/me/passkeys", json={"credential": credential, "name": name},
                       headers=JSON)


def passkey_sign_in(client, authenticator, **get_kwargs):
    options = client.post("/accounts/passkey/options", json={}, headers=JSON)
    assert options.status_code == 200, options.get_data(as_text=True)
    assertion = authenticator.get(options.get_json(), **get_kwargs)
    return client.post("/accounts/passkey/verify", json={"credential": assertion}, headers=JSON), \
        assertion


@pytest.fixture
def make_user(make_user):
    """Accounts tests read English messages: users default to English (French is tested
    explicitly)."""

    def make(role: str = "patient", **fields):
        fields.setdefault("language", "en")
        return make_user(role, **fields)

    return make
