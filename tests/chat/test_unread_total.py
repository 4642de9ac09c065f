"""The unread total of the tab bar: only conversations the person may read now, asked in the
same few statements however many conversations have unread messages (a nurse has dozens), and
given to the phone with each "delivered" it sends."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.chat.conftest import client_id, get, give, say
from tests.statements import reading, recorded_statements
from webapp.chat import services
from webapp.circle.models import Grant
from webapp.extensions import db


def _patients_writing_to(app, make_user, nurse, count: int) -> list[int]:
    """`count` patients, each in a care conversation with the nurse, each sending two messages
    she has not read. Returns the conversation ids."""
    ids = []
    for n in range(count):
        patient = make_user("patient", display_name=f"Patient {n}", language="en")
        with app.app_context():
            give(patient, nurse, "messages")
            conversation = services.start_conversation(
                get(nurse), patient=get(patient), member_ids=[], subject=f"Care {n}"
            )
            for text in ("one", "two"):
                services.post_message(get(patient), conversation, text, client_id())
            ids.append(conversation.id)
    return ids


def _statements_of_total(app, nurse, **options) -> tuple[int, int]:
    with app.app_context():
        person = get(nurse)
        with recorded_statements() as statements:
            total = services.unread_total(person, **options)
    return total, len(statements)


def test_only_conversations_still_readable_count(app, make_user):
    nurse = make_user("professional", display_name="Nadia Benali", language="en")
    first, revoked, third = _patients_writing_to(app, make_user, nurse, 3)
    with app.app_context():
        conversation = services.get_conversation(get(nurse), revoked)
        grant = db.session.scalar(
            select(Grant).where(Grant.patient_id == conversation.patient_id,
                                Grant.grantee_id == nurse.id))
        from webapp.circle import services as circle

        circle.revoke_grant(conversation.patient, grant.id)
        db.session.commit()
        assert services.unread_total(get(nurse)) == 4
        # Said readable by the caller (policy has just allowed it): counted without asking.
        assert services.unread_total(get(nurse), readable=(first,)) == 4


def test_the_total_costs_the_same_statements_for_one_or_many_conversations(app, make_user):
    one = make_user("professional", display_name="Nurse One", language="en")
    many = make_user("professional", display_name="Nurse Many", language="en")
    [only] = _patients_writing_to(app, make_user, one, 1)
    conversations = _patients_writing_to(app, make_user, many, 6)
    total_one, cost_one = _statements_of_total(app, one)
    total_many, cost_many = _statements_of_total(app, many)
    assert (total_one, total_many) == (2, 12)
    assert cost_many == cost_one
    # The conversation the event has just checked is not looked up again.
    assert _statements_of_total(app, one, readable=(only,)) == (2, 1)
    assert _statements_of_total(app, many, readable=tuple(conversations))[1] == 1


def test_delivered_replies_with_the_unread_total(app, connect, circle, conversation):
    nurse, patient = connect(circle.nurse), connect(circle.patient)
    sent = [say(nurse, conversation, text) for text in ("one", "two")]
    ack = patient.emit("delivered", {"conversation_id": conversation, "message_id": sent[-1]},
                       namespace="/chat", callback=True)
    assert ack == {"ok": True, "up_to": sent[-1], "unread": 2}


def test_a_receipt_and_its_total_are_one_transaction(app, connect, circle, conversation):
    """On PostgreSQL a transaction opened after the commit costs a checkout, BEGIN and a reset:
    the total is counted inside the receipt's own transaction."""
    from sqlalchemy import event

    nurse, patient = connect(circle.nurse), connect(circle.patient)
    sent = say(nurse, conversation, "x")
    with app.app_context():
        engine = db.engine
    begun = []

    here = threading.get_ident()

    def count(connection) -> None:
        # The handler's own transactions: the push to Claire (offline) runs on its own.
        if threading.get_ident() == here:
            begun.append(connection)

    for kind in ("delivered", "read"):
        begun.clear()
        event.listen(engine, "begin", count)
        try:
            ack = patient.emit(kind, {"conversation_id": conversation, "message_id": sent},
                               namespace="/chat", callback=True)
        finally:
            event.remove(engine, "begin", count)
        assert ack["ok"], ack
        assert len(begun) == 1, kind


def test_a_page_counts_the_unread_total_once(app, client, login, circle, conversation):
    """The home page counts the unread messages for its "for you today" list, and the
    conversation page counts the total again when it marks what it shows read: the tab bar's
    badge shows that count instead of counting a second time."""
    with app.app_context():
        opened = services.get_conversation(get(circle.nurse), conversation)
        for text in ("one", "two"):
            services.post_message(get(circle.nurse), opened, text, client_id())
    login(client, circle.patient)
    for path, badge in (("/home", '<span id="unread-badge" class="badge" >2</span>'),
                        (f"/chat/{conversation}",
                         '<span id="unread-badge" class="badge" hidden></span>')):
        with app.app_context(), recorded_statements() as statements:
            page = client.get(path)
        assert page.status_code == 200
        assert len(reading(statements, "count(messages.id)")) == 1, path
        assert badge in page.text, path
