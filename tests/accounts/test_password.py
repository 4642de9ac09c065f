"""Password fallback: sign-in, the rate limit (per account and per IP), sessions."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from webapp.accounts.models import User
from webapp.extensions import db


def _sign_in(client, email, password, **headers):
    return client.post("/accounts/sign-in", data={"email": email, "password": password},
                       headers=headers)


def _row(app, user_id):
    with app.app_context():
        u = db.session.get(User, user_id)
        return (u.password_hash, u.session_token, u.display_name)


def test_sign_in_page_offers_passkey_first_then_password(client):
    page = client.get("/accounts/sign-in").get_data(as_text=True)
    assert page.index('data-passkey="authenticate"') < page.index('id="password-form"')
    assert "Sign in with a passkey" in page
    assert 'href="/accounts/join"' in page


def test_wrong_password_is_401_and_changes_nothing(app, client, make_user):
    user = make_user("patient")
    before = _row(app, user.id)
    for headers, marker in (({"HX-Request": "true"}, '<form id="password-form"'),
                            ({}, "<!doctype")):
        response = _sign_in(client, user.email, "not the password", **headers)
        assert response.status_code == 401
        body = response.get_data(as_text=True)
        assert body.lstrip().lower().startswith(marker.lower())
        assert "Wrong email or password." in body
        assert user.email in body  # the email stays typed in
    assert _row(app, user.id) == before
    assert client.get("/home").status_code == 302


def test_unknown_account_gets_the_same_answer(client):
    response = _sign_in(client, "nobody@example.test", "whatever-password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_right_password_signs_in_with_htmx_redirect_and_without(client, make_user):
    user = make_user("patient")
    response = _sign_in(client, user.email, PASSWORD, **{"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/home"
    client.post("/accounts/sign-out")
    response = client.post("/accounts/sign-in?next=/accounts/me",
                           data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/me"


def test_sign_in_rebuilds_the_session(client, make_user):
    user = make_user("patient")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["language"] = "fr"
    _sign_in(client, user.email, PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["language"] == "fr"  # the visitor's language choice survives
        assert session["_fresh"] is True and "auth_at" in session


def test_sixth_failed_try_for_one_account_is_429_with_the_message(app, client, make_user):
    user = make_user("patient")
    for _ in range(5):
        assert _sign_in(client, user.email, "wrong-password-1").status_code == 401
    response = _sign_in(client, user.email, PASSWORD, **{"HX-Request": "true"})
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="password-form"')
    assert "Too many attempts. Please wait a minute and try again." in body
    assert client.get("/home").status_code == 302  # even the right password waits


def test_a_few_people_mistyping_behind_one_address_do_not_lock_out_the_others(client, make_user):
    # A care home: everyone signs in from the same address.
    staff = [make_user("professional") for _ in range(6)]
    for person in staff[:5]:
        for _ in range(3):
            assert _sign_in(client, person.email, "wrong-password-1").status_code == 401
    assert _sign_in(client, staff[5].email, PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_stopped(app, client, make_user):
    assert app.config["PASSWORD_TRIES_PER_ADDRESS"] == "20 per minute"
    users = [make_user("patient") for _ in range(5)]
    for n in range(20):  # four wrong tries on each of five accounts: under the account limit
        assert _sign_in(client, users[n % 5].email, f"wrong-password-{n}").status_code == 401
    refused = _sign_in(client, users[0].email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many attempts. Please wait a minute and try again." in refused.get_data(
        as_text=True)
    # Someone else, elsewhere, is not affected.
    client.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert _sign_in(client, users[0].email, PASSWORD).status_code == 302


def test_the_account_limit_holds_across_addresses(client, make_user):
    user = make_user("patient")
    for n in range(5):
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert _sign_in(client, user.email, "wrong-password-1").status_code == 401
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert _sign_in(client, user.email, PASSWORD).status_code == 429


def test_successful_sign_ins_do_not_use_up_tries(client, make_user):
    user = make_user("patient")
    for _ in range(8):
        assert _sign_in(client, user.email, PASSWORD).status_code == 302
        client.post("/accounts/sign-out")


def test_sign_out_everywhere_ends_the_other_devices_sessions(app, make_user, login):
    user = make_user("patient")
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    response = laptop.post("/accounts/sign-out-everywhere")
    assert response.status_code == 302 and "/accounts/sign-in" in response.headers["Location"]
    assert phone.get("/home").status_code == 302
    assert laptop.get("/home").status_code == 302
    login(phone, user)
    assert phone.get("/home").status_code == 200


def test_change_password_fragment_and_page(app, client, make_user, login):
    user = make_user("patient")
    login(client, user)
    short = client.post("/accounts/me/password", data={"password": "short"},
                        headers={"HX-Request": "true"})
    assert short.status_code == 400
    assert short.get_data(as_text=True).lstrip().startswith('<div id="password-settings">')
    assert "at least 10 characters" in short.get_data(as_text=True)
    saved = client.post("/accounts/me/password", data={"password": "a new long password"},
                        headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "Your password is saved." in saved.get_data(as_text=True)
    page = client.post("/accounts/me/password", data={"password": "another long password"})
    assert page.status_code == 302
    client.post("/accounts/sign-out")
    assert _sign_in(client, user.email, "another long password").status_code == 302


def test_a_mistyped_limit_stops_the_start_with_its_name(monkeypatch):
    from webapp import config as config_module

    monkeypatch.setenv("SECRET_KEY", "unused")
    monkeypatch.setenv("PASSWORD_TRIES_PER_ADDRESS", "twenty a minute")
    with pytest.raises(RuntimeError, match="PASSWORD_TRIES_PER_ADDRESS"):
        config_module.from_environment()
    monkeypatch.setenv("PASSWORD_TRIES_PER_ADDRESS", "50 per hour")
    assert config_module.from_environment()["PASSWORD_TRIES_PER_ADDRESS"] == "50 per hour"
