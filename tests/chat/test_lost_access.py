"""A member whose access ended stays a member of the conversation: the others see that they can
no longer read it (header and a notice above the composer), live, and nothing is pushed to
them. Who can read is policy's answer (conversation.read), asked member by member."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.chat.conftest import client_id, get
from webapp.chat import services
from webapp.chat.models import Conversation
from webapp.extensions import db, socketio

HX = {"HX-Request": "true"}
NS = "/chat"


def _revoke(app, patient, grantee) -> None:
    from webapp.circle import services as circle_services
    from webapp.circle.models import Grant

    with app.app_context():
        grant = db.session.scalar(select(Grant).filter_by(grantee_id=grantee.id))
        circle_services.revoke_grant(get(patient), grant.id)


def _members_line(html: str) -> str:
    match = re.search(r'<p id="chat-members"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no member line"
    return re.sub(r"<[^>]+>", "", match.group(1))


def _notice(html: str) -> tuple[bool, str]:
    match = re.search(r'<p id="chat-access-notice"([^>]*)>(.*?)</p>', html, re.S)
    assert match, "no access notice"
    return "hidden" in match.group(1), match.group(2).strip()


def test_members_without_access_asks_policy_for_each_member(app, circle, conversation):
    with app.app_context():
        assert services.members_without_access(db.session.get(Conversation, conversation)) == []
    _revoke(app, circle.patient, circle.nurse)
    with app.app_context():
        lost = services.members_without_access(db.session.get(Conversation, conversation))
        assert [u.id for u in lost] == [circle.nurse.id]


def test_conversation_says_who_can_no_longer_read_it(app, client, login, circle, conversation):
    login(client, circle.relative)
    before = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert _members_line(before) == "Nadia Benali, Jeanne Martin · about Jeanne Martin"
    assert _notice(before) == (True, "")

    _revoke(app, circle.patient, circle.nurse)
    for headers in ({}, HX):  # the full page and its fragment share the markup
        html = client.get(f"/chat/{conversation}", headers=headers).get_data(as_text=True)
        assert ("<html" in html) is (headers is not HX)
        assert _members_line(html) == (
            "Nadia Benali (no longer has access), Jeanne Martin · about Jeanne Martin"
        )
        hidden, text = _notice(html)
        assert not hidden
        assert text == (
            "Nadia Benali can no longer read this conversation: "
            "messages sent here will not reach them."
        )
        # The notice sits in the composer, above the message box.
        assert html.index('id="composer"') < html.index('id="chat-access-notice"')
        assert html.index('id="chat-access-notice"') < html.index('id="composer-body"')
    # The composer fragment (swapped when the conversation closes or reopens) keeps it.
    composer = client.get(f"/chat/{conversation}/composer", headers=HX).get_data(as_text=True)
    assert _notice(composer)[0] is False and "Nadia Benali" in _notice(composer)[1]


def test_the_notice_is_in_french_for_french_readers(app, client, login, circle, conversation):
    from webapp.accounts.models import User

    with app.app_context():
        db.session.get(User, circle.relative.id).language = "fr"
        db.session.commit()
    _revoke(app, circle.patient, circle.nurse)
    login(client, circle.relative)
    html = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert _members_line(html).startswith("Nadia Benali (n’a plus accès), Jeanne Martin")
    assert _notice(html)[1] == (
        "Nadia Benali n’a plus accès à cette conversation\u202f: "
        "les messages envoyés ici ne lui parviendront pas."
    )


def test_the_remaining_members_are_told_live(app, login, circle, conversation):
    def connect(user):
        http = app.test_client()
        login(http, user)
        return socketio.test_client(app, namespace=NS, flask_test_client=http)

    relative, nurse, stranger = connect(circle.relative), connect(circle.nurse), connect(
        circle.stranger
    )
    try:
        for sio in (relative, nurse, stranger):
            sio.get_received(NS)
        _revoke(app, circle.patient, circle.nurse)

        def names(sio):
            return [(e["name"], e["args"][0]) for e in sio.get_received(NS)]

        assert ("members_changed", {"conversation_id": conversation}) in names(relative)
        # The conversations she lost, and whose access changed (for her other open pages).
        assert names(nurse) == [("access_lost", {"conversation_ids": [conversation]}),
                                ("access_changed", {"patient_id": circle.patient.id})]
        assert names(stranger) == []
    finally:
        for sio in (relative, nurse, stranger):
            if sio.is_connected(NS):
                sio.disconnect(namespace=NS)


def test_no_push_to_a_member_who_can_no_longer_read(app, circle, conversation, push_endpoint):
    import time

    from webapp.accounts.models import User
    from webapp.push import services as push
    from webapp.push.models import PushSubscription

    devices = {}
    with app.app_context():
        for user in (get(circle.patient), get(circle.nurse)):
            device = push_endpoint.subscription()
            push.subscribe(db.session.get(User, user.id), device.info())
            devices[device.token] = user.id
    _revoke(app, circle.patient, circle.nurse)
    with app.app_context():
        services.post_message(
            get(circle.relative),
            db.session.get(Conversation, conversation),
            "Maman a de la fièvre",
            client_id(),
        )
    # Waits for a second push that must not come.
    received = push_endpoint.wait_for(2, timeout=2)
    assert push_endpoint.errors == []
    assert [devices[d.token] for d in received] == [circle.patient.id]
    # The sending ran off the request path; let it record its outcome before the test ends.
    with app.app_context():
        for _ in range(200):
            if db.session.scalars(select(PushSubscription.last_success_at)).all().count(None) < 2:
                break
            db.session.rollback()
            time.sleep(0.05)
