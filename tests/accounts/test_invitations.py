"""Accounts come only from invitation codes (or the demo seed): create, redeem once, expire."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.accounts.conftest import JSON
from webapp.accounts import services
from webapp.accounts.models import Invitation, Passkey, User
from webapp.accounts.signals import invitation_redeemed
from webapp.errors import Gone
from webapp.extensions import db

HX = {"HX-Request": "true"}


def _count(app, model):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def _admin_code(app, client, make_user, login, **data):
    login(client, make_user("admin"))
    response = client.post("/accounts/invitations", data={"role": "patient", **data})
    assert response.status_code == 200, response.get_data(as_text=True)
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', response.get_data(as_text=True)).group(1)
    client.post("/accounts/sign-out")
    return code


def test_only_an_admin_creates_codes(app, client, make_user, login):
    login(client, make_user("patient"))
    assert client.get("/accounts/invitations").status_code == 403
    assert client.post("/accounts/invitations", data={"role": "admin"}).status_code == 403
    assert _count(app, Invitation) == 0


def test_admin_creates_a_code_shown_once_and_stored_hashed(app, client, make_user, login):
    login(client, make_user("admin"))
    page = client.get("/accounts/invitations")
    assert page.status_code == 200 and "No code yet." in page.get_data(as_text=True)
    response = client.post("/accounts/invitations", data={"role": "relative"}, headers=HX)
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="invitation-form">')
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', body).group(1)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert f"/accounts/join?code={code}" in body
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation))
        assert invitation.role == "relative"
        assert invitation.code_hash == services.hash_code(code) and code not in invitation.code_hash
        assert invitation.expires_at - services.now() > timedelta(days=6, hours=23)
    # The list shows it, never the code again.
    page = client.get("/accounts/invitations").get_data(as_text=True)
    assert code not in page and "Valid until" in page


def test_a_professional_code_needs_a_profession_and_an_11_digit_rpps(app, client, make_user,
                                                                    login):
    login(client, make_user("admin"))
    for data, message in (
        ({"role": "professional", "profession": "Nurse", "rpps": "1234"},
         "An RPPS number has exactly 11 digits."),
        ({"role": "professional", "profession": "Nurse", "rpps": "1234567890a"},
         "An RPPS number has exactly 11 digits."),
        ({"role": "professional", "profession": "", "rpps": "12345678901"},
         "Please choose a profession from the list."),
        ({"role": "professional", "profession": "Astronaut", "rpps": "12345678901"},
         "Please choose a profession from the list."),
        ({"role": "superuser"}, "Please choose a role from the list."),
    ):
        for headers in (HX, {}):
            response = client.post("/accounts/invitations", data=data, headers=headers)
            assert response.status_code == 400
            assert message in response.get_data(as_text=True)
    assert _count(app, Invitation) == 0
    # The field to correct is marked, and takes the focus when the form is replaced.
    for data, element_id in (({"role": "professional", "profession": "nurse", "rpps": "1"}, "rpps"),
                             ({"role": "professional", "rpps": "12345678901"}, "profession"),
                             ({"role": "superuser"}, "role")):
        body = client.post("/accounts/invitations", data=data, headers=HX).get_data(as_text=True)
        field = re.search(rf'<(?:input|select) id="{element_id}"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in field and "autofocus" in field, element_id
        assert body.count("autofocus") == 1
    taken = make_user("professional", rpps="55555555555")
    response = client.post("/accounts/invitations", data={
        "role": "professional", "profession": "Nurse", "rpps": taken.rpps})
    assert response.status_code == 400 and "already uses this RPPS" in response.get_data(
        as_text=True)


def test_join_with_a_password_uses_the_code_once(app, client, make_user, login):
    code = _admin_code(app, client, make_user, login, role="professional",
                       profession="Physiotherapist", rpps="12345678901")
    step1 = client.post("/accounts/join", data={"code": code.lower().replace("-", " ")},
                        headers=HX)
    assert step1.status_code == 200
    body = step1.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="join">')
    assert "Physiotherapist" in body and 'id="display_name"' in body

    received = []

    def listener(invitation, user):
        received.append((invitation.id, user.email, invitation.redeemed_by_id == user.id))

    invitation_redeemed.connect(listener)
    try:
        response = client.post("/accounts/join", data={
            "code": code, "step": "password", "display_name": "Marc Kiné",
            "email": "Marc@Example.test", "password": "a long enough password"})
    finally:
        invitation_redeemed.disconnect(listener)
    assert response.status_code == 302 and response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="marc@example.test"))
        assert (user.role, user.profession, user.rpps) == ("professional", "physiotherapist",
                                                           "12345678901")
        assert received == [(db.session.scalar(db.select(Invitation.id)), user.email, True)]
    client.post("/accounts/sign-out")
    again = client.post("/accounts/join", data={
        "code": code, "step": "password", "display_name": "Someone else",
        "email": "other@example.test", "password": "a long enough password"})
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    assert _count(app, User) == 2


def test_bad_join_input_changes_nothing(app, client, make_user, login):
    existing = make_user("patient")
    code = _admin_code(app, client, make_user, login)
    users = _count(app, User)
    for data, status, message in (
        ({"code": "NOPE-NOPE-NOPE"}, 404, "This invitation code is not valid"),
        ({"code": code, "step": "password", "display_name": "", "email": "a@example.test",
          "password": "a long enough password"}, 400, "Please enter a name"),
        ({"code": code, "step": "password", "display_name": "A", "email": "not-an-email",
          "password": "a long enough password"}, 400, "valid email"),
        ({"code": code, "step": "password", "display_name": "A", "email": existing.email,
          "password": "a long enough password"}, 400, "already uses this email"),
        ({"code": code, "step": "password", "display_name": "A", "email": "a@example.test",
          "password": "short"}, 400, "at least 10 characters"),
        ({"code": code, "step": "password", "display_name": "A", "email": "a@example.test",
          "password": ""}, 400, "Please choose a password"),
    ):
        for headers in (HX, {}):
            response = client.post("/accounts/join", data=data, headers=headers)
            assert response.status_code == status, (data, response.status_code)
            assert message in response.get_data(as_text=True)
    assert _count(app, User) == users
    with app.app_context():
        assert db.session.scalar(db.select(Invitation.redeemed_at)) is None


def test_an_expired_code_is_refused(app, client, make_user, login):
    code = _admin_code(app, client, make_user, login)
    with app.app_context():
        db.session.execute(db.update(Invitation).values(
            expires_at=services.now() - timedelta(seconds=1)))
        db.session.commit()
    response = client.get(f"/accounts/join?code={code}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)


def test_join_with_a_passkey(app, client, make_user, login, authenticator):
    code = _admin_code(app, client, make_user, login, role="relative")
    users = _count(app, User)
    refused = client.post("/accounts/join/passkey/options", json={
        "code": code, "display_name": "", "email": "claire@example.test"}, headers=JSON)
    assert refused.status_code == 400 and "Please enter a name" in refused.get_json()["error"]
    options = client.post("/accounts/join/passkey/options", json={
        "code": code, "display_name": "Claire", "email": "claire@example.test"}, headers=JSON)
    assert options.status_code == 200
    assert options.get_json()["publicKey"]["user"]["name"] == "claire@example.test"
    assert _count(app, User) == users  # nobody is created before the passkey is verified
    response = client.post("/accounts/join/passkey",
                           json={"credential": authenticator.create(options.get_json())},
                           headers=JSON)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get("/home").status_code == 200
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="claire@example.test"))
        assert user.role == "relative" and user.password_hash is None
        [passkey] = user.passkeys
        assert user.webauthn_handle == authenticator.credentials[0].user_handle
    # She can sign in with it, no email typed.
    client.post("/accounts/sign-out")
    options = client.post("/accounts/passkey/options", json={}, headers=JSON).get_json()
    assert client.post("/accounts/passkey/verify", json={"credential": authenticator.get(options)},
                       headers=JSON).status_code == 200
    assert _count(app, Passkey) == 1


def test_signed_in_people_do_not_join(client, make_user, login):
    login(client, make_user("patient"))
    assert client.get("/accounts/join").status_code == 302


def _admin_with_code(app, client, make_user, login, **data):
    """An admin signed in on `client`, and a fresh code of theirs: (code, invitation id)."""
    login(client, make_user("admin"))
    response = client.post("/accounts/invitations", data={"role": "patient", **data})
    code = re.search(r'id="new-code">([A-Z0-9-]+)<', response.get_data(as_text=True)).group(1)
    with app.app_context():
        invitation_id = db.session.scalar(
            db.select(Invitation.id).where(Invitation.code_hash == services.hash_code(code)))
    return code, invitation_id


def test_an_admin_cancels_a_code_before_it_is_used(app, client, make_user, login):
    code, invitation_id = _admin_with_code(app, client, make_user, login)
    page = client.get("/accounts/invitations").get_data(as_text=True)
    assert f"/accounts/invitations/{invitation_id}/cancel" in page
    assert 'data-confirm="Cancel this code? It will stop working at once."' in page
    response = client.post(f"/accounts/invitations/{invitation_id}/cancel", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="invitation-form">')
    assert "The code is cancelled: it no longer works." in body and "Cancelled" in body
    assert f"/accounts/invitations/{invitation_id}/cancel" not in body  # nothing left to cancel
    # Again, without JavaScript: the whole page, and nothing changes the second time.
    with app.app_context():
        first = db.session.get(Invitation, invitation_id).cancelled_at
    again = client.post(f"/accounts/invitations/{invitation_id}/cancel")
    assert again.status_code == 200 and "<html" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).cancelled_at == first is not None
    client.post("/accounts/sign-out")

    users = _count(app, User)
    refused = client.get(f"/accounts/join?code={code}")
    assert refused.status_code == 410 and "was cancelled" in refused.get_data(as_text=True)
    joined = client.post("/accounts/join", data={
        "code": code, "step": "password", "display_name": "Late", "email": "late@example.test",
        "password": "a long enough password"})
    assert joined.status_code == 410
    passkey = client.post("/accounts/join/passkey/options", json={
        "code": code, "display_name": "Late", "email": "late@example.test"}, headers=JSON)
    assert passkey.status_code == 410
    assert _count(app, User) == users


def test_a_used_code_cannot_be_cancelled(app, client, make_user, login):
    code, invitation_id = _admin_with_code(app, client, make_user, login)
    client.post("/accounts/sign-out")
    joined = client.post("/accounts/join", data={
        "code": code, "step": "password", "display_name": "Rose", "email": "rose@example.test",
        "password": "a long enough password"})
    assert joined.status_code == 302
    client.post("/accounts/sign-out")
    login(client, make_user("admin"))
    response = client.post(f"/accounts/invitations/{invitation_id}/cancel", headers=HX)
    assert response.status_code == 409
    assert "already been used" in response.get_data(as_text=True)
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.cancelled_at is None and invitation.redeemed_by_id is not None


def test_cancelling_an_unknown_code_is_not_found(app, client, make_user, login):
    login(client, make_user("admin"))
    assert client.post("/accounts/invitations/999999/cancel").status_code == 404


def test_a_redemption_after_a_cancellation_is_refused_even_past_the_first_check(app):
    """The code was valid when the person opened the page and cancelled before they sent it:
    the conditional UPDATE of the redemption refuses it."""
    with app.app_context():
        admin = services.create_user(email="boss@example.test", display_name="Boss",
                                     role="admin", password="a long enough password")
        invitation, code = services.create_invitation(role="patient", created_by=admin)
        db.session.commit()
        found = services.find_invitation(code)
        services.cancel_invitation(admin, invitation.id)
        with pytest.raises(Gone):
            services.redeem_invitation(found, display_name="Late", email="late@example.test",
                                       password="a long enough password")
        db.session.rollback()
        assert db.session.scalar(db.select(User.id).filter_by(email="late@example.test")) is None


def test_code_dates_read_in_24_hour_time_without_ambiguity(app, client, make_user, login):
    # "12/6/26, 7:23 AM" reads as 12 June in most of the world: the app's own style instead.
    admin = make_user("admin", language="en")
    login(client, admin)
    client.post("/accounts/invitations", data={"role": "patient"})
    page = client.get("/accounts/invitations").get_data(as_text=True)
    assert re.search(r"Valid until \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", page)
    assert " AM" not in page and " PM" not in page


@pytest.mark.parametrize("role,language,sentence", [
    ("admin", "en", "This invitation creates an administrator account."),
    ("relative", "en", "This invitation creates an account for a relative."),
    ("relative", "fr", "Cette invitation crée un compte de proche."),
    ("admin", "fr", "Cette invitation crée un compte d’administrateur."),
])
def test_the_join_page_says_what_account_the_code_creates_in_a_whole_sentence(
    app, client, make_user, login, role, language, sentence
):
    # A role word slotted into one sentence read "a administrator account" and "un compte
    # proche".
    code = _admin_code(app, client, make_user, login, role=role)
    page = client.get(f"/accounts/join?code={code}", headers={"Accept-Language": language})
    assert page.status_code == 200
    assert sentence in page.get_data(as_text=True)


def test_a_refused_join_marks_the_field_to_correct(app, client, make_user, login):
    existing = make_user("patient")
    code = _admin_code(app, client, make_user, login)
    body = client.post("/accounts/join", headers=HX, data={
        "code": code, "step": "password", "display_name": "A", "email": existing.email,
        "password": "a long enough password"}).get_data(as_text=True)
    field = re.search(r'<input id="join-email"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="join-error"' in field
    assert "autofocus" in field
    assert 'aria-invalid' not in re.search(r'<input id="display_name"[^>]*>', body).group(0)
