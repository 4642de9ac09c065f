"""The right to object: the person a patient's space is to be opened for can refuse it with the
code they were given. The code then works no more, and the objection stands against a new
patient code for the same email until the administrator confirms the person asked since."""

from __future__ import annotations

import re

from tests.accounts.conftest import JSON
from webapp.accounts.models import Invitation, User
from webapp.extensions import db

HX = {"HX-Request": "true"}
EMAIL = "marcel@example.test"


def _code(client, role="patient", **data):
    response = client.post("/accounts/invitations", data={"role": role, **data})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.search(r'id="new-code">([A-Z0-9-]+)<', response.get_data(as_text=True)).group(1)


def _invitation(app) -> Invitation:
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation).order_by(Invitation.id.desc()))
        db.session.expunge(invitation)
        return invitation


def _admin(app, make_user, login):
    admin = app.test_client()
    login(admin, make_user("admin"))
    return admin


def test_the_join_page_of_a_patient_code_offers_to_refuse_the_space(app, client, make_user,
                                                                    login):
    admin = _admin(app, make_user, login)
    patient_code, relative_code = _code(admin, email=EMAIL), _code(admin, "relative")
    page = client.get(f"/accounts/join?code={patient_code}").get_data(as_text=True)
    assert 'id="join-object"' in page and "I refuse my space" in page
    page = client.get(f"/accounts/join?code={relative_code}").get_data(as_text=True)
    assert 'id="join-object"' not in page


def test_refusing_asks_once_more_then_records_it_and_the_code_works_no_more(
        app, client, make_user, login):
    admin = _admin(app, make_user, login)
    code = _code(admin, email=EMAIL)

    asked = client.post("/accounts/join/object", data={"code": code})
    assert asked.status_code == 200
    assert 'id="object-confirm"' in asked.get_data(as_text=True)
    assert _invitation(app).objected_at is None  # nothing recorded yet

    done = client.post("/accounts/join/object", data={"code": code, "confirm": "yes"})
    assert done.status_code == 200
    assert "Your refusal is recorded" in done.get_data(as_text=True)
    assert _invitation(app).objected_at is not None

    # The code opens nothing any more, by password or by passkey.
    page = client.get(f"/accounts/join?code={code}")
    assert page.status_code == 410
    assert "You refused this space" in page.get_data(as_text=True)
    joined = client.post("/accounts/join", data={
        "code": code, "step": "password", "display_name": "Marcel", "email": EMAIL,
        "password": "a long enough password"})
    assert joined.status_code == 410
    options = client.post("/accounts/join/passkey/options", json={
        "code": code, "display_name": "Marcel", "email": EMAIL}, headers=JSON)
    assert options.status_code == 410
    again = client.post("/accounts/join/object", data={"code": code, "confirm": "yes"})
    assert again.status_code == 410
    with app.app_context():
        assert db.session.scalar(db.select(User).filter_by(email=EMAIL)) is None

    # The administrator sees it, and cannot cancel what no longer works.
    listing = admin.get("/accounts/invitations").get_data(as_text=True)
    item = re.search(rf'<li id="invitation-{_invitation(app).id}">(.*?)</li>', listing, re.S)
    assert "Refused by the person" in item.group(1) and "Cancel the code" not in item.group(1)
    refused = admin.post(f"/accounts/invitations/{_invitation(app).id}/cancel")
    assert refused.status_code == 409
    assert _invitation(app).cancelled_at is None


def test_a_new_patient_code_for_someone_who_refused_needs_the_administrator_to_confirm(
        app, client, make_user, login):
    admin = _admin(app, make_user, login)
    client.post("/accounts/join/object", data={"code": _code(admin, email=EMAIL),
                                               "confirm": "yes"})
    before = _invitation(app).id

    response = admin.post("/accounts/invitations", data={"role": "patient", "email": EMAIL})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This person objected to having a space on" in body
    assert 'name="asked_since"' in body
    assert _invitation(app).id == before  # no code made

    # Another role for the same person, and the confirmed case, are not held back.
    _code(admin, "relative", email=EMAIL)
    code = _code(admin, email=EMAIL, asked_since="yes")
    assert client.get(f"/accounts/join?code={code}").status_code == 200


def test_only_a_patient_code_can_be_refused(app, client, make_user, login):
    admin = _admin(app, make_user, login)
    code = _code(admin, "relative")
    for data in ({"code": code}, {"code": code, "confirm": "yes"}):
        response = client.post("/accounts/join/object", data=data)
        assert response.status_code == 400
        assert "simply do not use it" in response.get_data(as_text=True)
    assert _invitation(app).objected_at is None


def test_a_used_or_unknown_code_cannot_be_refused(app, client, make_user, login):
    admin = _admin(app, make_user, login)
    code = _code(admin)
    assert client.post("/accounts/join", data={
        "code": code, "step": "password", "display_name": "Marcel", "email": EMAIL,
        "password": "a long enough password"}).status_code == 302
    other = app.test_client()
    assert other.post("/accounts/join/object",
                      data={"code": code, "confirm": "yes"}).status_code == 410
    assert other.post("/accounts/join/object",
                      data={"code": "NOPE-NOPE-NOPE", "confirm": "yes"}).status_code == 404
    assert _invitation(app).objected_at is None
