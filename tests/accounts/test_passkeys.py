"""Passkeys through the real routes and py_webauthn's real verification (software authenticator)."""

from __future__ import annotations

import re

from tests.accounts.authenticator import SoftAuthenticator
from tests.accounts.conftest import JSON, passkey_sign_in, register_passkey
from tests.cookies import arrives_now
from tests.factories import PASSWORD
from webapp.accounts.models import Passkey, User, WebAuthnChallenge
from webapp.extensions import db


def _passkeys(app, user_id):
    with app.app_context():
        return [(p.name, p.sign_count, p.last_used_at, p.transports)
                for p in db.session.scalars(db.select(Passkey).filter_by(user_id=user_id))]


def test_registration_options_demand_a_discoverable_verified_credential(app, client, make_user,
                                                                        login):
    user = make_user("patient")
    login(client, user)
    options = client.post("/accounts/me/passkeys/options", json={}, headers=JSON).get_json()
    public_key = options["publicKey"]
    assert public_key["rp"]["id"] == app.config["WEBAUTHN_RP_ID"]
    selection = public_key["authenticatorSelection"]
    assert selection["residentKey"] == "required"
    assert selection["requireResidentKey"] is True
    assert selection["userVerification"] == "required"
    assert public_key["user"]["name"] == user.email
    with app.app_context():
        # The challenge is kept server-side, tied to this user; the session only points at it.
        row = db.session.scalar(db.select(WebAuthnChallenge))
        assert row.purpose == "register" and row.user_id == user.id
    # It names the row in a cookie of its own, not in the session (see the test below).
    assert client.get_cookie("webauthn_register").value == row.token
    with client.session_transaction() as session:
        assert not any(key.startswith("webauthn") for key in session)
        assert all(not isinstance(v, bytes) for v in session.values())


def test_a_late_answer_to_the_passkey_autofill_does_not_undo_a_password_sign_in(client,
                                                                               make_user):
    """The sign-in page asks for passkey options as it opens (the autofill). Someone quick, or
    a password manager, signs in with the password before that answer is in: the answer,
    arriving last, must not bring back the session from before the sign-in."""
    user = make_user("patient")
    client.get("/accounts/sign-in")
    late = client.post("/accounts/passkey/options", json={}, headers=JSON)
    assert late.status_code == 200, late.get_data(as_text=True)
    signed_in = client.post("/accounts/sign-in", data={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.location.endswith("/home")
    arrives_now(client, late)
    assert client.get("/home").status_code == 200


def test_register_then_sign_in_with_the_discoverable_passkey(app, client, make_user, login,
                                                             authenticator):
    user = make_user("patient")
    login(client, user)
    response = register_passkey(client, authenticator, name="Phone")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["redirect"] == "/accounts/me"
    [(name, count, last_used, transports)] = _passkeys(app, user.id)
    assert (name, count, last_used, transports) == ("Phone", 0, None, "internal")

    client.post("/accounts/sign-out")
    assert client.get("/home").status_code == 302
    response, _ = passkey_sign_in(client, authenticator)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["redirect"] == "/home"
    assert client.get("/home").status_code == 200
    [(name, count, last_used, _t)] = _passkeys(app, user.id)
    assert count == 1 and last_used is not None
    # The challenge was consumed: nothing pending is left behind.
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebAuthnChallenge)) == 0


def test_sign_in_follows_a_safe_next_only(client, make_user, login, authenticator):
    login(client, make_user("patient"))
    register_passkey(client, authenticator)
    client.post("/accounts/sign-out")
    options = client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()
    response = client.post("/accounts/passkey/verify?next=//evil.example/x",
                           json={"credential": authenticator.get(options)}, headers=JSON)
    assert response.get_json()["redirect"] == "/home"


def test_sign_in_options_name_no_account(client):
    options = client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()
    assert options["publicKey"]["allowCredentials"] == []
    assert options["publicKey"]["userVerification"] == "required"


def test_a_counter_that_stays_zero_is_valid(app, client, make_user, login):
    synced = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"], counter_step=0)
    user = make_user("patient")
    login(client, user)
    register_passkey(client, synced)
    client.post("/accounts/sign-out")
    for _ in range(2):
        response, _a = passkey_sign_in(client, synced)
        assert response.status_code == 200, response.get_data(as_text=True)
        client.post("/accounts/sign-out")
    assert _passkeys(app, user.id)[0][1] == 0


def test_a_counter_that_goes_backwards_is_refused(app, client, make_user, login, authenticator):
    user = make_user("patient")
    login(client, user)
    register_passkey(client, authenticator)
    client.post("/accounts/sign-out")
    for _ in range(3):
        passkey_sign_in(client, authenticator)
        client.post("/accounts/sign-out")
    before = _passkeys(app, user.id)
    assert before[0][1] == 3
    response, _ = passkey_sign_in(client, authenticator, sign_count=2)
    assert response.status_code == 401
    assert "could not be verified" in response.get_json()["error"]
    assert _passkeys(app, user.id) == before
    assert client.get("/home").status_code == 302


def test_unknown_passkey_is_refused_clearly(app, client, make_user, login, authenticator):
    login(client, make_user("patient"))
    register_passkey(client, authenticator)
    client.post("/accounts/sign-out")
    stranger = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"])
    options = client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()
    stranger.create({"publicKey": {**options["publicKey"], "rp": {"id": "localhost"},
                                   "user": {"id": "AAAA"}}})
    response = client.post("/accounts/passkey/verify",
                           json={"credential": stranger.get(options)}, headers=JSON)
    assert response.status_code == 401
    assert "not registered here" in response.get_json()["error"]


def test_registration_without_user_verification_is_refused(app, client, make_user, login):
    user = make_user("patient")
    login(client, user)
    lazy = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"], user_verified=False)
    response = register_passkey(client, lazy)
    assert response.status_code == 400
    assert "could not be verified" in response.get_json()["error"]
    assert _passkeys(app, user.id) == []


def test_several_passkeys_rename_and_remove_but_never_the_last_way_in(app, client, make_user,
                                                                     login, authenticator):
    user = make_user("patient")
    login(client, user)
    assert register_passkey(client, authenticator, name="Phone").status_code == 200
    other = SoftAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"])
    response = register_passkey(client, other, name="")
    assert response.status_code == 200
    assert response.get_json()["name"] == "Passkey"  # no name typed, no device hint in the UA
    with app.app_context():
        ids = [p.id for p in db.session.scalars(db.select(Passkey).filter_by(user_id=user.id)
                                                .order_by(Passkey.id))]
    # The exclude list stops the same authenticator registering twice.
    options = client.post("/accounts/me/passkeys/options", json={}, headers=JSON).get_json()
    assert len(options["publicKey"]["excludeCredentials"]) == 2

    page = client.get("/accounts/me").get_data(as_text=True)
    assert "Phone" in page and f"/accounts/me/passkeys/{ids[0]}/remove" in page

    renamed = client.post(f"/accounts/me/passkeys/{ids[1]}/name", data={"name": "Tablet"},
                          headers={"HX-Request": "true"})
    assert renamed.status_code == 200
    assert renamed.get_data(as_text=True).lstrip().startswith('<div id="passkeys">')
    assert "Tablet" in renamed.get_data(as_text=True)

    # Remove the password: passkeys are now the only ways in.
    assert client.post("/accounts/me/password/remove").status_code == 302
    assert client.get(f"/accounts/me/passkeys/{ids[0]}/remove").status_code == 200
    assert client.post(f"/accounts/me/passkeys/{ids[0]}/remove").status_code == 302
    refused = client.post(f"/accounts/me/passkeys/{ids[1]}/remove")
    assert refused.status_code == 409
    assert "last way to sign in" in refused.get_data(as_text=True)
    assert [p[0] for p in _passkeys(app, user.id)] == ["Tablet"]
    assert "cannot be removed" in client.get("/accounts/me").get_data(as_text=True)


def test_password_is_the_last_way_in_when_there_is_no_passkey(app, client, make_user, login):
    user = make_user("patient")
    login(client, user)
    # The page says so up front, with no button that could only be refused.
    page = client.get("/accounts/me/password/remove").get_data(as_text=True)
    assert "only way to sign in" in page and 'id="confirm-remove"' not in page
    response = client.post("/accounts/me/password/remove")
    assert response.status_code == 409
    # A boosted form (HTMX accepts anything) gets the message as HTML, not raw JSON.
    boosted = client.post("/accounts/me/password/remove",
                          headers={"HX-Request": "true", "HX-Boosted": "true", "Accept": "*/*"})
    assert boosted.status_code == 409 and boosted.mimetype == "text/html"
    assert "only way to sign in" in boosted.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).password_hash


def test_someone_elses_passkey_is_not_found(app, client, make_user, login, authenticator):
    owner = make_user("patient")
    login(client, owner)
    register_passkey(client, authenticator, name="Mine")
    client.post("/accounts/sign-out")
    with app.app_context():
        passkey_id = db.session.scalar(db.select(Passkey.id))
    login(client, make_user("relative"))
    assert client.post(f"/accounts/me/passkeys/{passkey_id}/name",
                       data={"name": "Stolen"}).status_code == 404
    assert client.post(f"/accounts/me/passkeys/{passkey_id}/remove").status_code == 404
    assert _passkeys(app, owner.id)[0][0] == "Mine"


def test_rename_validates_the_name(app, client, make_user, login, authenticator):
    user = make_user("patient")
    login(client, user)
    register_passkey(client, authenticator, name="Phone")
    with app.app_context():
        passkey_id = db.session.scalar(db.select(Passkey.id))
    for headers, marker in (({"HX-Request": "true"}, '<div id="passkeys">'), ({}, "<!doctype")):
        response = client.post(f"/accounts/me/passkeys/{passkey_id}/name", data={"name": "  "},
                               headers=headers)
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert body.lstrip().startswith(marker) and "Please give the passkey a name" in body
        # The name field is the one to correct, and where the focus goes (the form is replaced).
        field = re.search(rf'<input id="passkey-name-{passkey_id}"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in field and "autofocus" in field
        assert 'aria-describedby="passkeys-error passkey-meta-' in field
    assert _passkeys(app, user.id)[0][0] == "Phone"


def test_passkeys_fragment_with_and_without_htmx(client, make_user, login):
    login(client, make_user("patient"))
    fragment = client.get("/accounts/me/passkeys", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="passkeys">')
    page = client.get("/accounts/me/passkeys")
    assert page.get_data(as_text=True).lstrip().lower().startswith("<!doctype")


def test_the_removal_page_of_the_last_way_in_says_so_with_no_remove_button(app, client,
                                                                          make_user, login,
                                                                          authenticator):
    user = make_user("patient")
    login(client, user)
    register_passkey(client, authenticator, name="Phone")
    assert client.post("/accounts/me/password/remove").status_code == 302  # passkey only now
    with app.app_context():
        passkey_id = db.session.scalar(db.select(Passkey.id).filter_by(user_id=user.id))
    page = client.get(f"/accounts/me/passkeys/{passkey_id}/remove").get_data(as_text=True)
    assert 'id="confirm-remove"' not in page and 'id="remove-refused"' in page
    assert "This passkey is your only way to sign in" in page
    # What to do instead, with links to where it is done.
    assert 'href="/accounts/me#add-passkey"' in page
    assert 'href="/accounts/me#password-settings"' in page
    # The list in the settings says the same and offers no Remove for it.
    me = client.get("/accounts/me").get_data(as_text=True)
    assert f"/accounts/me/passkeys/{passkey_id}/remove" not in me
    assert 'id="last-way-hint"' in me and "This passkey is your only way to sign in" in me
    # The refusal of the POST stays (a stale page, another tab).
    refused = client.post(f"/accounts/me/passkeys/{passkey_id}/remove")
    assert refused.status_code == 409 and "last way to sign in" in refused.get_data(as_text=True)
    assert len(_passkeys(app, user.id)) == 1


def test_the_removal_page_offers_the_button_when_another_way_in_exists(app, client, make_user,
                                                                       login, authenticator):
    user = make_user("patient")  # has a password
    login(client, user)
    register_passkey(client, authenticator, name="Phone")
    with app.app_context():
        passkey_id = db.session.scalar(db.select(Passkey.id).filter_by(user_id=user.id))
    page = client.get(f"/accounts/me/passkeys/{passkey_id}/remove").get_data(as_text=True)
    assert 'id="confirm-remove"' in page and 'id="remove-refused"' not in page
    assert "only way to sign in" not in page
    assert f"/accounts/me/passkeys/{passkey_id}/remove" in client.get("/accounts/me").get_data(
        as_text=True)
    assert client.post(f"/accounts/me/passkeys/{passkey_id}/remove").status_code == 302
    assert _passkeys(app, user.id) == []


def test_the_last_way_in_page_in_french(app, client, make_user, login, authenticator):
    user = make_user("patient", language="fr")
    login(client, user)
    register_passkey(client, authenticator, name="Téléphone")
    client.post("/accounts/me/password/remove")
    with app.app_context():
        passkey_id = db.session.scalar(db.select(Passkey.id).filter_by(user_id=user.id))
    page = client.get(f"/accounts/me/passkeys/{passkey_id}/remove").get_data(as_text=True)
    assert "Cette clé d’accès est votre seul moyen de connexion" in page
    assert "Ajouter une autre clé d’accès" in page and "Définir un mot de passe" in page
