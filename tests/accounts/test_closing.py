"""A patient closes her space: nobody, herself included, can use it until she signs in again and
reopens it; nothing is deleted, and reopening gives back the space as it was."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.accounts.conftest import passkey_sign_in, register_passkey
from tests.factories import PASSWORD
from webapp import policy
from webapp.accounts.models import User
from webapp.audit import AccessEvent
from webapp.errors import Gone
from webapp.extensions import db

CLOSE = {"confirm": "yes"}


@pytest.fixture
def space(app, make_user):
    """Jeanne's space: Claire (relative) and Nadia (nurse) have access, a care conversation
    with a message, a push subscription on her phone."""
    from webapp.chat import services as chat
    from webapp.circle import services as circle
    from webapp.push.models import PushSubscription

    jeanne = make_user("patient", display_name="Jeanne Martin")
    claire = make_user("relative", display_name="Claire Martin")
    nadia = make_user("professional", display_name="Nadia Benali")
    with app.app_context():
        patient = db.session.get(User, jeanne.id)
        circle.grant(patient, db.session.get(User, claire.id), "messages,agenda", None)
        circle.grant(patient, db.session.get(User, nadia.id), "messages,summary", None)
        db.session.commit()
        conversation = chat.start_conversation(patient, patient=patient,
                                               member_ids=[claire.id, nadia.id], subject="Care")
        chat.post_message(patient, conversation, "Hello", "closing-test-00001")
        db.session.add(PushSubscription(user_id=jeanne.id, endpoint="https://push.test/jeanne",
                                        p256dh="k" * 87, auth="a" * 22, label="Phone"))
        db.session.commit()
        conversation_id = conversation.id

    class Space:
        pass

    s = Space()
    s.jeanne, s.claire, s.nadia, s.conversation = jeanne, claire, nadia, conversation_id
    return s


def _counts(app, user_id: int) -> dict:
    from webapp.chat.models import Message
    from webapp.circle.models import Grant
    from webapp.push.models import PushSubscription

    with app.app_context():
        count = lambda q: db.session.scalar(q)  # noqa: E731
        return {
            "grants": count(select(func.count(Grant.id)).where(Grant.patient_id == user_id)),
            "messages": count(select(func.count(Message.id))),
            "devices": count(select(func.count(PushSubscription.id))
                             .where(PushSubscription.user_id == user_id)),
        }


def _account(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _history(app, user_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.object_type) for e in db.session.scalars(
            select(AccessEvent).where(AccessEvent.patient_id == user_id,
                                      AccessEvent.object_type == "space")
            .order_by(AccessEvent.id))]


def _sign_in(client, user, password=PASSWORD):
    return client.post("/accounts/sign-in", data={"email": user.email, "password": password})


def test_the_close_page_says_what_happens_and_asks_to_confirm(client, login, space):
    login(client, space.jeanne)
    assert 'href="/accounts/me/close"' in client.get("/accounts/me").get_data(as_text=True)
    page = client.get("/accounts/me/close").get_data(as_text=True)
    assert "Nothing is deleted." in page
    assert 'id="export-before-closing"' in page
    assert 'name="confirm"' in page


def test_closing_without_ticking_the_box_changes_nothing(app, client, login, space):
    login(client, space.jeanne)
    before = _counts(app, space.jeanne.id)
    response = client.post("/accounts/me/close", data={})
    assert response.status_code == 400
    assert "Tick the box to confirm" in response.get_data(as_text=True)
    assert _account(app, space.jeanne.id).closed_at is None
    assert _counts(app, space.jeanne.id) == before
    assert client.get("/home").status_code == 200  # still signed in


def test_closing_shuts_everyone_out_and_keeps_everything(app, client, login, space):
    login(client, space.jeanne)
    claire = login(app.test_client(), space.claire)
    assert claire.get(f"/chat/{space.conversation}").status_code == 200
    other_device = login(app.test_client(), space.jeanne)
    before = _counts(app, space.jeanne.id)

    response = client.post("/accounts/me/close", data=CLOSE)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/accounts/sign-in")

    jeanne = _account(app, space.jeanne.id)
    assert not jeanne.active and jeanne.closed_at is not None
    # Signed out here and on her other device; her phone forgotten for notifications.
    for device in (client, other_device):
        assert "/accounts/sign-in" in device.get("/home").headers.get("Location", "")
    after = _counts(app, space.jeanne.id)
    assert after == {**before, "devices": 0}  # nothing else deleted: grants, messages kept
    # Nobody reaches her space any more: her relative's open session included.
    assert claire.get(f"/chat/{space.conversation}").status_code in (403, 404)
    with app.app_context():
        patient = db.session.get(User, space.jeanne.id)
        for who in (space.claire, space.nadia):
            person = db.session.get(User, who.id)
            for action in ("messages.read", "agenda.read", "summary.read", "circle.reach",
                           "circle.emergency", "circle.request_access"):
                assert not policy.can(person, action, patient), (who.display_name, action)
    assert _history(app, space.jeanne.id) == [("close", "space")]


def test_her_right_password_offers_to_reopen_and_reopening_gives_back_the_space(
        app, client, login, space):
    login(client, space.jeanne)
    assert client.post("/accounts/me/close", data=CLOSE).status_code == 302

    response = _sign_in(client, space.jeanne)
    assert response.headers["Location"].endswith("/accounts/closed")
    page = client.get("/accounts/closed").get_data(as_text=True)
    assert "Your space is closed" in page and 'id="reopen-space"' in page
    assert "/accounts/sign-in" in client.get("/home").headers["Location"]  # not signed in yet

    response = client.post("/accounts/reopen")
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert client.get("/home").status_code == 200
    assert _account(app, space.jeanne.id).active
    # As she left it: her relative reads the conversation again.
    claire = login(app.test_client(), space.claire)
    assert claire.get(f"/chat/{space.conversation}").status_code == 200
    assert _history(app, space.jeanne.id) == [("close", "space"), ("reopen", "space")]
    activity = client.get("/circle/activity?tab=mine").get_data(as_text=True)
    assert "You closed your space" in activity and "You opened your space again" in activity


def test_a_wrong_password_for_a_closed_space_is_just_a_wrong_password(app, client, login,
                                                                        space):
    login(client, space.jeanne)
    client.post("/accounts/me/close", data=CLOSE)
    response = _sign_in(client, space.jeanne, password="not-her-password")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert "/accounts/sign-in" in client.get("/accounts/closed").headers["Location"]
    assert client.post("/accounts/reopen").status_code == 302
    assert not _account(app, space.jeanne.id).active


def test_reopening_needs_a_recent_sign_in_of_this_browser(app, client, login, space):
    login(client, space.jeanne)
    client.post("/accounts/me/close", data=CLOSE)
    stranger = app.test_client()  # another browser: no proof in its session
    assert "/accounts/sign-in" in stranger.post("/accounts/reopen").headers["Location"]
    assert not _account(app, space.jeanne.id).active

    _sign_in(client, space.jeanne)
    with client.session_transaction() as session:  # the proof is 10 minutes old at most
        session["reopen"] = {**session["reopen"], "at": time.time() - 601}
    client.post("/accounts/reopen")
    assert not _account(app, space.jeanne.id).active


def test_an_account_closed_by_other_means_cannot_be_reopened_by_its_owner(app, client,
                                                                           make_user):
    user = make_user("patient")
    with app.app_context():
        db.session.get(User, user.id).active = False  # e.g. by an administrator
        db.session.commit()
    response = _sign_in(client, user)
    assert response.status_code == 401
    assert "/accounts/sign-in" in client.get("/accounts/closed").headers["Location"]


def test_a_passkey_for_a_closed_space_offers_to_reopen_too(app, client, login, space,
                                                           authenticator):
    login(client, space.jeanne)
    assert register_passkey(client, authenticator).status_code == 200
    client.post("/accounts/me/close", data=CLOSE)

    response, _assertion = passkey_sign_in(client, authenticator)
    assert response.status_code == 200
    assert response.get_json() == {"redirect": "/accounts/closed"}
    assert client.post("/accounts/reopen").headers["Location"].endswith("/home")
    assert _account(app, space.jeanne.id).active


@pytest.mark.parametrize("role", ["relative", "professional", "admin"])
def test_only_a_patient_has_a_space_to_close(app, client, login, make_user, role):
    person = make_user(role)
    login(client, person)
    assert client.get("/accounts/me/close").status_code == 403
    assert client.post("/accounts/me/close", data=CLOSE).status_code == 403
    assert 'href="/accounts/me/close"' not in client.get("/accounts/me").get_data(as_text=True)
    assert _account(app, person.id).active


def test_closing_asks_for_a_recent_sign_in_check(app, client, login, space):
    login(client, space.jeanne)
    with client.session_transaction() as session:
        session["auth_at"] = time.time() - 3600
    response = client.post("/accounts/me/close", data=CLOSE)
    assert response.status_code == 302
    assert "/accounts/reauth" in response.headers["Location"]
    assert _account(app, space.jeanne.id).active


def test_an_invitation_to_a_closed_space_no_longer_works(app, client, login, space, make_user):
    from webapp.circle import services as circle
    from webapp.circle.models import Grant

    with app.app_context():
        _row, code = circle.create_invitation(db.session.get(User, space.jeanne.id), "Paul",
                                              "agenda", None)
    login(client, space.jeanne)
    client.post("/accounts/me/close", data=CLOSE)
    paul = make_user("relative", display_name="Paul Martin")
    with app.app_context():
        with pytest.raises(Gone) as refused:
            circle.accept_invitation(db.session.get(User, paul.id), code)
        assert "no longer works" in refused.value.message
        db.session.rollback()
        assert db.session.scalar(select(func.count(Grant.id))
                                 .where(Grant.grantee_id == paul.id)) == 0
