"""Adding people to an ongoing conversation: the service, the page, the live rooms, the
access history."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.chat.conftest import client_id, get, give
from webapp.audit import AccessEvent
from webapp.chat import services
from webapp.chat.models import Conversation, ConversationMember, Message
from webapp.errors import Forbidden, UserError
from webapp.extensions import db, socketio

HX = {"HX-Request": "true"}
NS = "/chat"


@pytest.fixture
def newcomers(app, make_user, circle):
    """Luc (Jeanne's grandson) and Marc (the nurse taking over) were given the messages scope
    after the conversation started."""
    luc = make_user("relative", display_name="Luc Martin", language="en")
    marc = make_user("professional", display_name="Marc Petit", language="en")
    with app.app_context():
        give(circle.patient, luc, "messages")
        give(circle.patient, marc, "messages,agenda")
    return luc, marc


def _conv(cid) -> Conversation:
    return db.session.get(Conversation, cid)


def _post(who, cid, body="hello") -> int:
    return services.post_message(get(who), _conv(cid), body, client_id())[0].id


def _members(cid) -> set[int]:
    return set(db.session.scalars(
        select(ConversationMember.user_id).where(ConversationMember.conversation_id == cid)
    ))


def _history_rows() -> int:
    return db.session.scalar(select(func.count(AccessEvent.id)))


# ---- The service ------------------------------------------------------------------------


def test_added_people_read_the_history_with_nothing_unread(app_ctx, circle, conversation,
                                                          newcomers):
    luc, marc = newcomers
    _post(circle.nurse, conversation, "Pansement lundi")
    last = _post(circle.relative, conversation, "Merci")
    added = services.add_members(get(circle.nurse), _conv(conversation),
                                 [str(marc.id), str(luc.id)])
    assert [p.display_name for p in added] == ["Luc Martin", "Marc Petit"]
    db.session.expire_all()
    rows = {m.user_id: m for m in _conv(conversation).members}
    for person in (luc, marc):
        assert (rows[person.id].last_read_id, rows[person.id].last_delivered_id) == (last, last)
        assert services.unread_total(get(person)) == 0
        messages, _more = services.history(get(person), _conv(conversation))
        assert [m.body for m in messages] == ["Pansement lundi", "Merci"]
    # What came before they joined is not shown as read (or delivered) by them.
    first = db.session.scalar(select(Message).where(
        Message.conversation_id == conversation).order_by(Message.id))
    read_by = services.status_of(first, _conv(conversation)).read_by or []
    assert "Luc Martin" not in read_by and "Marc Petit" not in read_by
    # The next message is theirs to read.
    _post(circle.nurse, conversation, "Bienvenue")
    assert services.unread_total(get(luc)) == 1
    history = db.session.scalars(
        select(AccessEvent).where(AccessEvent.action == "add_members")
    ).all()
    assert [(h.actor_id, h.patient_id, h.object_id) for h in history] == [
        (circle.nurse.id, circle.patient.id, str(conversation))
    ]


def test_a_relative_member_may_add_too(app_ctx, circle, conversation, newcomers):
    luc, _marc = newcomers
    services.add_members(get(circle.relative), _conv(conversation), [luc.id])
    assert luc.id in _members(conversation)


def test_adding_to_a_conversation_with_no_message_yet(app_ctx, circle, conversation, newcomers):
    luc, _marc = newcomers
    services.add_members(get(circle.nurse), _conv(conversation), [luc.id])
    member = _conv(conversation).member(get(luc))
    assert (member.last_read_id, member.last_delivered_id) == (0, 0)


def _refused(conversation, actor, ids, error=UserError):
    before = (_members(conversation), _history_rows())
    with pytest.raises(error) as info:
        services.add_members(get(actor), _conv(conversation), ids)
    db.session.rollback()
    assert (_members(conversation), _history_rows()) == before
    return info.value.message


def test_outsiders_and_closed_conversations_are_refused(app_ctx, circle, conversation,
                                                       newcomers):
    luc, _marc = newcomers
    for outsider in (circle.stranger, circle.doctor, luc):  # not members
        _refused(conversation, outsider, [luc.id], Forbidden)
    services.set_closed(get(circle.nurse), _conv(conversation), True)
    _refused(conversation, circle.relative, [luc.id], Forbidden)
    _refused(conversation, circle.nurse, [luc.id], Forbidden)


def test_people_who_may_not_take_part_are_refused(app_ctx, circle, conversation, newcomers):
    luc, _marc = newcomers
    # Paul has the agenda but not the messages; Olga is nobody's relative here.
    for person in (circle.doctor, circle.stranger):
        assert _refused(conversation, circle.nurse, [luc.id, person.id]) == \
            "Choose people from the list."
    assert _refused(conversation, circle.nurse, [luc.id, circle.relative.id]) == \
        "Claire Martin is already in this conversation."
    assert _refused(conversation, circle.nurse, [circle.patient.id]) == \
        "Jeanne Martin is already in this conversation."


@pytest.mark.parametrize("ids", [[], None, "", ["abc"], ["-1"], ["0"], ["1.5"], [None],
                                 ["<script>"], [{"id": 1}], ["999999"]])
def test_garbage_ids_are_refused(app_ctx, circle, conversation, newcomers, ids):
    message = _refused(conversation, circle.nurse, ids)
    assert message in ("Choose people from the list.", "Choose at least one person to add.")


def test_at_most_max_members(app_ctx, circle, conversation):
    patient = get(circle.patient)
    crowd = []
    for n in range(services.common.MAX_MEMBERS - 2):  # 3 members already: one too many
        person = factories.user("relative", display_name=f"Cousin {n:02d}")
        give(patient, person, "messages")
        crowd.append(person.id)
    assert _refused(conversation, circle.nurse, crowd) == \
        "A conversation can have at most 20 people."
    services.add_members(get(circle.nurse), _conv(conversation), crowd[1:])
    assert len(_members(conversation)) == services.common.MAX_MEMBERS


def test_addable_leaves_out_members_and_people_without_messages(app_ctx, circle, conversation,
                                                                newcomers):
    luc, marc = newcomers
    names = [p.display_name for p in services.addable(get(circle.nurse), _conv(conversation))]
    assert names == ["Luc Martin", "Marc Petit"]
    assert services.addable(get(circle.stranger), _conv(conversation)) == []


# ---- The page ---------------------------------------------------------------------------


def test_the_conversation_links_to_the_page_while_someone_can_be_added(
        app, client, login, circle, conversation, newcomers):
    luc, marc = newcomers
    login(client, circle.nurse)
    link = f'href="/chat/{conversation}/members"'
    assert link in client.get(f"/chat/{conversation}").get_data(as_text=True)
    page = client.get(f"/chat/{conversation}/members")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "Luc Martin · relative" in html and "Marc Petit · " in html
    assert f'value="{circle.relative.id}"' not in html and "Paul Lefevre" not in html
    fragment = client.get(f"/chat/{conversation}/members", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="add-members"') and "<html" not in fragment
    with app.app_context():
        services.add_members(get(circle.nurse), _conv(conversation), [luc.id, marc.id])
    assert link not in client.get(f"/chat/{conversation}").get_data(as_text=True)
    html = client.get(f"/chat/{conversation}/members").get_data(as_text=True)
    assert "Everyone who may take part is already in this conversation." in html
    assert 'name="members"' not in html


def test_posting_adds_and_says_so_on_the_conversation(app, client, login, circle, conversation,
                                                     newcomers):
    luc, marc = newcomers
    login(client, circle.relative)
    response = client.post(f"/chat/{conversation}/members", data={"members": [str(luc.id)]})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/chat/{conversation}")
    html = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert "Added: Luc Martin" in html
    assert re.search(r'id="chat-members"[^>]*>[^<]*Luc Martin', html)
    # htmx (not boosted): told where to go, the flash waits there.
    response = client.post(f"/chat/{conversation}/members", data={"members": [str(marc.id)]},
                           headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/chat/{conversation}"
    assert "Added: Marc Petit" in client.get(f"/chat/{conversation}").get_data(as_text=True)
    with app.app_context():
        assert {luc.id, marc.id} <= _members(conversation)


def test_a_refused_post_shows_the_reason_and_adds_nobody(app, client, login, circle,
                                                        conversation, newcomers):
    luc, _marc = newcomers
    login(client, circle.nurse)
    response = client.post(f"/chat/{conversation}/members",
                           data={"members": [str(luc.id), str(circle.doctor.id)]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Choose people from the list." in html
    assert f'value="{luc.id}" checked' in html  # the choice is kept
    response = client.post(f"/chat/{conversation}/members", data={}, headers=HX)
    assert response.status_code == 400
    assert "Choose at least one person to add." in response.get_data(as_text=True)
    with app.app_context():
        assert luc.id not in _members(conversation)


def test_outsiders_get_403_and_unknown_conversations_404(app, client, login, circle,
                                                        conversation, newcomers):
    luc, _marc = newcomers
    for outsider in (circle.stranger, circle.doctor, luc):
        login(client, outsider)
        assert client.get(f"/chat/{conversation}/members").status_code == 403
        assert client.post(f"/chat/{conversation}/members",
                           data={"members": [str(luc.id)]}).status_code == 403
        client.post("/accounts/sign-out")
    login(client, circle.nurse)
    assert client.get("/chat/999999/members").status_code == 404
    with app.app_context():
        assert luc.id not in _members(conversation)


def test_a_closed_conversation_takes_nobody_more(app, client, login, circle, conversation,
                                                newcomers):
    luc, _marc = newcomers
    with app.app_context():
        services.set_closed(get(circle.nurse), _conv(conversation), True)
    login(client, circle.nurse)
    assert f"/chat/{conversation}/members" not in client.get(
        f"/chat/{conversation}").get_data(as_text=True)
    assert client.post(f"/chat/{conversation}/members",
                       data={"members": [str(luc.id)]}).status_code == 403


# ---- Live -------------------------------------------------------------------------------


def _socket(app, login, user):
    http = app.test_client()
    login(http, user)
    sio = socketio.test_client(app, namespace=NS, flask_test_client=http)
    assert sio.is_connected(NS)
    return sio


def _received(sio, name):
    return [e["args"][0] for e in sio.get_received(NS) if e["name"] == name]


def test_a_connected_person_gets_the_next_message_without_reconnecting(
        app, login, circle, conversation, newcomers):
    luc, _marc = newcomers
    nurse, patient, grandson = (_socket(app, login, u) for u in (circle.nurse, circle.patient, luc))
    try:
        with app.app_context():
            services.add_members(get(circle.relative), _conv(conversation), [luc.id])
        assert _received(grandson, "list_changed") == [{"conversation_id": conversation}]
        assert {"conversation_id": conversation} in _received(patient, "members_changed")
        ack = nurse.emit("send_message", {"conversation_id": conversation,
                                          "client_id": client_id(), "body": "Bienvenue Luc"},
                         namespace=NS, callback=True)
        assert ack["ok"]
        received = _received(grandson, "new_message")
        assert [m["id"] for m in received] == [ack["id"]]
        assert "Bienvenue Luc" in received[0]["html"]
    finally:
        for sio in (nurse, patient, grandson):
            if sio.is_connected(NS):
                sio.disconnect(namespace=NS)


# ---- The access history -----------------------------------------------------------------


@pytest.mark.parametrize("language, line", [
    ("en", "Nadia Benali (professional) added people to a conversation"),
    ("fr", "Nadia Benali (professionnel·le) a ajouté des personnes à une conversation")])
def test_the_patient_s_history_says_people_were_added(app, client, login, circle, conversation,
                                                      newcomers, language, line):
    luc, _marc = newcomers
    with app.app_context():
        services.add_members(get(circle.nurse), _conv(conversation), [luc.id])
        get(circle.patient).language = language
        db.session.commit()
    login(client, circle.patient)
    html = client.get("/circle/activity").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" )", ")")
    assert line in text
