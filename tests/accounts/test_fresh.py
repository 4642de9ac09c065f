"""Sensitive actions need a recent passkey or password check, then come back where they were."""

from __future__ import annotations

import time

from tests.accounts.conftest import JSON, register_passkey
from tests.factories import PASSWORD
from webapp.accounts.models import Passkey, User
from webapp.extensions import db


def _make_stale(client):
    with client.session_transaction() as session:
        session["auth_at"] = time.time() - 3600


def test_a_stale_session_is_sent_to_confirm_then_back(app, client, make_user, login):
    user = make_user("patient")
    login(client, user)
    _make_stale(client)

    # A page (GET): back to that page.
    response = client.get("/accounts/me/password/remove")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/reauth?next=/accounts/me/password/remove"

    # A form posted with htmx: HX-Redirect, back to the page the form was on.
    response = client.post("/accounts/me/password", data={"password": "a long new password"},
                           headers={"HX-Request": "true",
                                    "HX-Current-URL": "http://localhost/accounts/me"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/accounts/reauth?next=/accounts/me&again=1"
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == _hash(app, user.id)

    # The ceremony start (JSON): 401 with where to go.
    response = client.post("/accounts/me/passkeys/options", json={}, headers=JSON)
    assert response.status_code == 401
    assert response.get_json()["redirect"].startswith("/accounts/reauth?next=")

    # An off-site Referer never becomes the way back.
    response = client.post("/accounts/me/password", data={"password": "a long new password"},
                           headers={"Referer": "https://evil.example/phish"})
    assert response.headers["Location"] == "/accounts/reauth?next=/accounts/me&again=1"

    page = client.get("/accounts/reauth?next=/accounts/me")
    assert page.status_code == 200 and 'id="reauth-password"' in page.get_data(as_text=True)

    wrong = client.post("/accounts/reauth?next=/accounts/me", data={"password": "nope"},
                        headers={"HX-Request": "true"})
    assert wrong.status_code == 401
    assert wrong.get_data(as_text=True).lstrip().startswith('<form id="reauth-password"')
    assert "Wrong password." in wrong.get_data(as_text=True)

    ok = client.post("/accounts/reauth?next=/accounts/me/password/remove",
                     data={"password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"] == "/accounts/me/password/remove"
    assert client.get("/accounts/me/password/remove").status_code == 200


def _hash(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def test_reauth_never_redirects_off_site(client, make_user, login):
    login(client, make_user("patient"))
    _make_stale(client)
    response = client.post("/accounts/reauth?next=https://evil.example/",
                           data={"password": PASSWORD})
    assert response.headers["Location"] == "/accounts/me"


def test_reauth_with_a_passkey(app, client, make_user, login, authenticator):
    user = make_user("patient")
    login(client, user)
    register_passkey(client, authenticator)
    _make_stale(client)
    assert client.post("/accounts/me/passkeys/options", json={}, headers=JSON).status_code == 401
    options = client.post("/accounts/reauth/passkey/options", json={}, headers=JSON).get_json()
    # Only this user's passkeys are offered.
    with app.app_context():
        [passkey] = db.session.scalars(db.select(Passkey)).all()
    assert len(options["publicKey"]["allowCredentials"]) == 1
    response = client.post("/accounts/reauth/passkey?next=/accounts/me",
                           json={"credential": authenticator.get(options)}, headers=JSON)
    assert response.status_code == 200 and response.get_json()["redirect"] == "/accounts/me"
    assert client.post("/accounts/me/passkeys/options", json={}, headers=JSON).status_code == 200


def test_reauth_refuses_another_users_passkey(app, make_user, login, authenticator):
    alice, bob = app.test_client(), app.test_client()
    login(alice, make_user("patient"))
    register_passkey(alice, authenticator)
    login(bob, make_user("patient"))
    options = bob.post("/accounts/reauth/passkey/options", json={}, headers=JSON)
    assert options.status_code == 400  # Bob has no passkey: he confirms with his password
    login(bob, make_user("relative"))
    with bob.session_transaction() as session:
        session["auth_at"] = 0
    bob_key = type(authenticator)(origin=app.config["WEBAUTHN_ORIGIN"])
    register_passkey_fresh = bob.post("/accounts/reauth", data={"password": PASSWORD})
    assert register_passkey_fresh.status_code == 302
    register_passkey(bob, bob_key)
    options = bob.post("/accounts/reauth/passkey/options", json={}, headers=JSON).get_json()
    stolen = authenticator.get(options)  # Alice's passkey answering Bob's challenge
    response = bob.post("/accounts/reauth/passkey", json={"credential": stolen}, headers=JSON)
    assert response.status_code == 401


AGAIN = "Please do your change again: it was not saved."


def test_after_confirming_a_form_the_person_is_told_to_do_it_again(app, client, make_user,
                                                                    login):
    # A new password typed, "Change my password", "Confirm it is you": the password typed was
    # not kept on the way. Coming back to the page without a word, people believed it saved.
    user = make_user("patient")
    login(client, user)
    before = _hash(app, user.id)
    _make_stale(client)
    response = client.post("/accounts/me/password", data={"password": "a long new password"},
                           headers={"HX-Request": "true",
                                    "HX-Current-URL": "http://localhost/accounts/me"})
    target = response.headers["HX-Redirect"]
    page = client.get(target).get_data(as_text=True)
    assert 'action="/accounts/reauth?next=/accounts/me&amp;again=1"' in page
    ok = client.post(target, data={"password": PASSWORD})
    assert ok.status_code == 302 and ok.headers["Location"] == "/accounts/me"
    me = client.get("/accounts/me").get_data(as_text=True)
    assert AGAIN in me
    assert _hash(app, user.id) == before  # it was indeed not saved

    # A page asked for (GET) is simply shown once confirmed: nothing to redo, nothing said.
    _make_stale(client)
    response = client.get("/accounts/me/password/remove")
    assert response.headers["Location"] == "/accounts/reauth?next=/accounts/me/password/remove"
    client.post(response.headers["Location"], data={"password": PASSWORD})
    assert AGAIN not in client.get("/accounts/me/password/remove").get_data(as_text=True)


def test_after_confirming_a_ceremony_with_a_passkey_it_is_to_do_again(app, client, make_user,
                                                                      login, authenticator):
    login(client, make_user("patient"))
    register_passkey(client, authenticator)
    _make_stale(client)
    refused = client.post("/accounts/me/passkeys/options", json={}, headers=JSON).get_json()
    target = refused["redirect"]
    assert target.endswith("&again=1")
    page = client.get(target).get_data(as_text=True)
    assert 'data-verify-url="/accounts/reauth/passkey?next=/accounts/me&amp;again=1"' in page
    options = client.post("/accounts/reauth/passkey/options", json={}, headers=JSON).get_json()
    response = client.post("/accounts/reauth/passkey?next=/accounts/me&again=1",
                           json={"credential": authenticator.get(options)}, headers=JSON)
    assert response.get_json()["redirect"] == "/accounts/me"
    assert AGAIN in client.get("/accounts/me").get_data(as_text=True)
