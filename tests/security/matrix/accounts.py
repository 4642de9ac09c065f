"""Accounts routes: sign-in, passkeys, the "Me" page, re-authentication, invitations.

Everything under /accounts/me acts on the signed-in person only: another person's passkey id is
a 404, never a 403 that would confirm it exists.
"""

import secrets

from tests.factories import PASSWORD
from tests.security.matrix import (
    ADMIN,
    NOT_FOUND,
    OTHER_PATIENT,
    OWNER,
    SIGN_IN,
    AnyOf,
    Route,
    expect,
)

JSON = {"Accept": "application/json"}


def owner_passkey(s):
    """A fresh passkey of the owner (each cell may remove its own)."""
    from webapp.accounts.models import Passkey
    from webapp.extensions import db

    passkey = Passkey(user_id=s.owner.id, credential_id=secrets.token_bytes(32),
                      public_key=b"not-a-key", name="Phone")
    db.session.add(passkey)
    db.session.flush()
    return passkey


def admin_invitation(s):
    """A fresh, unused invitation code (each cell may cancel its own)."""
    from webapp.accounts import services

    invitation, _code = services.create_invitation(role="patient", created_by=None)
    return invitation


ROUTES = {
    "accounts.sign_in": [
        Route("GET", "/accounts/sign-in", expect.public()),
        # Wrong password: 401; after 5 wrong tries from one address the later cells meet the
        # rate limit (429), a refusal too.
        Route("POST", "/accounts/sign-in", expect.public(ok=AnyOf(401, 429)),
              data=lambda s: {"email": f"{s.uid()}@nobody.test", "password": "wrong"}),
    ],
    # Starting a discoverable sign-in names no account: open to anyone (rate-limited).
    "accounts.passkey_options": Route("POST", "/accounts/passkey/options", expect.public(),
                                      json={}, headers=JSON),
    "accounts.passkey_verify": Route("POST", "/accounts/passkey/verify", expect.public(ok=410),
                                     json={"credential": {}}, headers=JSON),
    "accounts.sign_out": Route("POST", "/accounts/sign-out", expect.public(ok=SIGN_IN)),
    "accounts.sign_out_everywhere": Route("POST", "/accounts/sign-out-everywhere",
                                          expect.public(ok=SIGN_IN), disposable_actor=True),
    "accounts.reauth": [
        Route("GET", "/accounts/reauth?next=/accounts/me", expect.signed_in()),
        Route("POST", "/accounts/reauth?next=/accounts/me", expect.signed_in(),
              data={"password": PASSWORD}),
    ],
    # Nobody in the scenario has a passkey yet: 400 "confirm with your password".
    "accounts.reauth_options": Route("POST", "/accounts/reauth/passkey/options",
                                     expect.signed_in(ok=400), json={}, headers=JSON),
    "accounts.reauth_verify": Route("POST", "/accounts/reauth/passkey", expect.signed_in(ok=410),
                                    json={"credential": {}}, headers=JSON),
    "accounts.me": Route("GET", "/accounts/me", expect.signed_in()),
    # A patient closes their own space (a disposable one: closing signs them out, hence the
    # sign-in page); nobody else has a space to close.
    "accounts.close_space": [
        Route("GET", "/accounts/me/close", expect.roles({OWNER, OTHER_PATIENT})),
        Route("POST", "/accounts/me/close", expect.roles({OWNER, OTHER_PATIENT}, ok=SIGN_IN),
              data={"confirm": "yes"}, disposable_actor=True),
    ],
    # Without the proof a right password or passkey for a closed space leaves in the session,
    # both send everyone to the sign-in page.
    "accounts.closed": Route("GET", "/accounts/closed", expect.public(ok=SIGN_IN)),
    "accounts.reopen": Route("POST", "/accounts/reopen", expect.public(ok=SIGN_IN)),
    "accounts.settings": Route("POST", "/accounts/me/settings", expect.signed_in(), data={
        "display_name": "Matrix", "language": "en", "timezone": "Europe/Paris",
        "theme": "auto"}),
    "accounts.passkeys": Route("GET", "/accounts/me/passkeys", expect.signed_in()),
    "accounts.passkey_register_options": Route("POST", "/accounts/me/passkeys/options",
                                               expect.signed_in(), json={}, headers=JSON),
    "accounts.passkey_register": Route("POST", "/accounts/me/passkeys", expect.signed_in(ok=400),
                                       json={"credential": {}}, headers=JSON),
    "accounts.passkey_rename": Route(
        "POST", lambda s: f"/accounts/me/passkeys/{owner_passkey(s).id}/name",
        expect.owner_only(denied=NOT_FOUND), data={"name": "Renamed"}),
    "accounts.passkey_remove": [
        Route("GET", lambda s: f"/accounts/me/passkeys/{owner_passkey(s).id}/remove",
              expect.owner_only(denied=NOT_FOUND)),
        Route("POST", lambda s: f"/accounts/me/passkeys/{owner_passkey(s).id}/remove",
              expect.owner_only(denied=NOT_FOUND)),
    ],
    # A too-short password: refused for everyone signed in, the access check ran first.
    "accounts.password": Route("POST", "/accounts/me/password", expect.signed_in(ok=400),
                               data={"password": "short"}),
    "accounts.password_remove": [
        Route("GET", "/accounts/me/password/remove", expect.signed_in()),
        # A fresh actor with a password and no passkey: the last way in stays (409).
        Route("POST", "/accounts/me/password/remove", expect.signed_in(ok=409),
              disposable_actor=True),
    ],
    "accounts.invitations": [
        Route("GET", "/accounts/invitations", expect.roles({ADMIN})),
        Route("POST", "/accounts/invitations", expect.roles({ADMIN}), data={"role": "patient"}),
    ],
    "accounts.invitation_cancel": Route(
        "POST", lambda s: f"/accounts/invitations/{admin_invitation(s).id}/cancel",
        expect.roles({ADMIN})),
    # Joining is for visitors; signed-in people are sent home.
    "accounts.join": [
        Route("GET", "/accounts/join", expect.public()),
        Route("POST", "/accounts/join", expect.signed_in(anonymous=NOT_FOUND),
              data={"code": "NOPE-NOPE-NOPE"}),
    ],
    "accounts.join_object": Route("POST", "/accounts/join/object",
                                  expect.signed_in(anonymous=NOT_FOUND),
                                  data={"code": "NOPE-NOPE-NOPE"}),
    "accounts.join_options": Route("POST", "/accounts/join/passkey/options",
                                   expect.public(ok=NOT_FOUND), json={"code": "NOPE"},
                                   headers=JSON),
    "accounts.join_verify": Route("POST", "/accounts/join/passkey", expect.public(ok=400),
                                  json={"credential": {}}, headers=JSON),
}
