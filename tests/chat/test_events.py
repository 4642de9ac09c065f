"""Socket.IO on /chat, through Flask-SocketIO's test client (same login cookie as HTTP)."""

import time

import pytest
from sqlalchemy import func, select

from tests.chat.conftest import client_id, get, say
from tests.statements import reading, recorded_statements
from webapp.chat import services
from webapp.chat.models import Message
from webapp.extensions import db, socketio

NS = "/chat"


def events(sio, name):
    return [e["args"][0] for e in sio.get_received(NS) if e["name"] == name]


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Message.id)))


def test_anonymous_connections_are_refused(app):
    sio = socketio.test_client(app, namespace=NS, flask_test_client=app.test_client())
    assert not sio.is_connected(NS)


def test_send_message_acks_and_reaches_the_other_member(app, connect, circle, conversation):
    nurse, patient, stranger = (
        connect(circle.nurse),
        connect(circle.patient),
        connect(circle.stranger),
    )
    cid = client_id()
    ack = nurse.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": cid, "body": "Je passe à 9h"},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] and ack["created"] and ack["client_id"] == cid
    assert "Je passe à 9h" in ack["html"]
    received = events(patient, "new_message")
    assert [(m["id"], m["client_id"]) for m in received] == [(ack["id"], cid)]
    assert received[0]["html"] == ack["html"]
    assert events(stranger, "new_message") == []
    # A retry of the same message is answered, not stored or delivered twice.
    again = nurse.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": cid, "body": "Je passe à 9h"},
        namespace=NS,
        callback=True,
    )
    assert again["ok"] and not again["created"] and again["id"] == ack["id"]
    assert events(patient, "new_message") == []
    assert _count(app) == 1


def test_sync_replays_everything_after_the_last_id(app, connect, circle, conversation):
    nurse = connect(circle.nurse)
    ids = [say(nurse, conversation, f"m{n}") for n in range(5)]
    patient = connect(circle.patient)
    reply = patient.emit(
        "sync", {"conversation_id": conversation, "after_id": ids[1]}, namespace=NS, callback=True
    )
    assert reply["ok"] and not reply["more"]
    assert [m["id"] for m in reply["messages"]] == ids[2:]
    everything = patient.emit(
        "sync", {"conversation_id": conversation, "after_id": None}, namespace=NS, callback=True
    )
    assert [m["id"] for m in everything["messages"]] == ids


def _opens(sio, conversation_id):
    """What a page does as it opens a conversation: replay what it lacks (it shows it now)."""
    ack = sio.emit("sync", {"conversation_id": conversation_id, "after_id": None},
                   namespace=NS, callback=True)
    assert ack["ok"], ack


def _types(sio, conversation_id):
    ack = sio.emit("typing", {"conversation_id": conversation_id}, namespace=NS, callback=True)
    assert ack["ok"], ack


def test_typing_goes_to_the_others_only(connect, circle, conversation):
    nurse, patient = connect(circle.nurse), connect(circle.patient)
    _opens(patient, conversation)
    _opens(nurse, conversation)
    _types(nurse, conversation)
    assert events(patient, "typing") == [
        {"conversation_id": conversation, "user_id": circle.nurse.id, "name": "Nadia Benali"}
    ]
    assert events(nurse, "typing") == []


def test_typing_reaches_only_the_pages_showing_the_conversation(app, connect, circle,
                                                                conversation):
    """Every signed-in page holds a socket in all its person's conversations: "typing" every
    few seconds would wake each of them. Only a page showing the conversation gets it."""
    from webapp.chat import services

    with app.app_context():
        other = services.start_conversation(get(circle.nurse), patient=get(circle.patient),
                                            member_ids=[], subject="Prescription").id
    nurse = connect(circle.nurse)
    agenda, chat = connect(circle.patient), connect(circle.patient)  # two pages of Jeanne's
    _opens(chat, conversation)
    _types(nurse, conversation)
    assert len(events(chat, "typing")) == 1
    assert events(agenda, "typing") == []
    # The page opens another conversation: typing in the first one is no longer for it.
    _opens(chat, other)
    _types(nurse, conversation)
    assert events(chat, "typing") == []
    _types(nurse, other)
    assert [e["conversation_id"] for e in events(chat, "typing")] == [other]
    # It goes to a page with no conversation (a boosted navigation keeps the socket).
    assert chat.emit("away", namespace=NS, callback=True) == {"ok": True}
    _types(nurse, other)
    assert events(chat, "typing") == []


def test_delivered_then_read_receipts_reach_the_author(connect, circle, conversation):
    nurse, patient = connect(circle.nurse), connect(circle.patient)
    ack = nurse.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": client_id(), "body": "x"},
        namespace=NS,
        callback=True,
    )
    nurse.get_received(NS)
    patient.get_received(NS)
    patient.emit(
        "delivered",
        {"conversation_id": conversation, "message_id": ack["id"]},
        namespace=NS,
        callback=True,
    )
    patient.emit(
        "read",
        {"conversation_id": conversation, "message_id": ack["id"]},
        namespace=NS,
        callback=True,
    )
    receipts = events(nurse, "receipt")
    assert [(r["kind"], r["user_id"], r["up_to"]) for r in receipts] == [
        ("delivered", circle.patient.id, ack["id"]),
        ("read", circle.patient.id, ack["id"]),
    ]
    assert events(patient, "receipt") == []  # the socket that said it is not told again
    # Reading twice says nothing new.
    patient.emit(
        "read",
        {"conversation_id": conversation, "message_id": ack["id"]},
        namespace=NS,
        callback=True,
    )
    assert events(nurse, "receipt") == []


def test_a_receipt_goes_to_the_authors_of_what_was_read_only(connect, circle, conversation):
    """Only an author shows a status for a message: the other members' phones are not woken
    by someone else's reading."""
    nurse, relative, patient = (connect(circle.nurse), connect(circle.relative),
                                connect(circle.patient))

    def read(up_to):
        for sio in (nurse, relative, patient):
            sio.get_received(NS)
        ack = patient.emit("read", {"conversation_id": conversation, "message_id": up_to},
                           namespace=NS, callback=True)
        assert ack["ok"] and ack["up_to"] == up_to, ack
        return {name: [(r["kind"], r["user_id"], r["up_to"]) for r in events(sio, "receipt")]
                for name, sio in (("nurse", nurse), ("relative", relative),
                                  ("patient", patient))}

    first = say(nurse, conversation, "Tomorrow at nine")
    assert read(first) == {"nurse": [("read", circle.patient.id, first)], "relative": [],
                           "patient": []}
    # Jeanne's own message among those passed: nobody else wrote it, nobody else is told.
    say(patient, conversation, "Thank you")
    second = say(relative, conversation, "I will be there")
    third = say(nurse, conversation, "Perfect")
    assert read(third) == {"nurse": [("read", circle.patient.id, third)],
                           "relative": [("read", circle.patient.id, third)], "patient": []}
    assert second < third
    # Nothing new passed: no receipt at all.
    assert patient.emit("read", {"conversation_id": conversation, "message_id": third},
                        namespace=NS, callback=True) == {"ok": True, "up_to": None}
    assert events(nurse, "receipt") == [] and events(relative, "receipt") == []


def test_reading_gives_every_page_of_the_reader_the_new_unread_total(
    app, connect, circle, conversation
):
    """The badge is set from the event: no page asks /chat/unread after reading."""
    nurse = connect(circle.nurse)
    reading, elsewhere = connect(circle.patient), connect(circle.patient)
    ids = [say(nurse, conversation, f"m{n}") for n in range(3)]
    for sio in (reading, elsewhere):
        sio.get_received(NS)
    for up_to, left in ((ids[0], 2), (ids[2], 0)):
        ack = reading.emit(
            "read", {"conversation_id": conversation, "message_id": up_to},
            namespace=NS, callback=True,
        )
        assert ack["ok"], ack
        for sio in (reading, elsewhere):
            assert events(sio, "unread_changed") == [{"count": left}]
        with app.app_context():
            assert services.unread_total(get(circle.patient)) == left
    # Nothing moved, nothing said.
    reading.emit("read", {"conversation_id": conversation, "message_id": ids[2]},
                 namespace=NS, callback=True)
    assert events(elsewhere, "unread_changed") == []


@pytest.mark.parametrize(
    "event, payload",
    [
        ("send_message", None),
        ("send_message", "text"),
        ("send_message", [1, 2]),
        ("send_message", {}),
        ("send_message", {"conversation_id": "abc", "body": "x", "client_id": "abcdefgh1"}),
        ("send_message", {"conversation_id": True, "body": "x", "client_id": "abcdefgh2"}),
        ("send_message", {"conversation_id": 10**30, "body": "x", "client_id": "abcdefgh3"}),
        ("send_message", {"conversation_id": "CONV", "body": "", "client_id": "abcdefgh4"}),
        ("send_message", {"conversation_id": "CONV", "body": "x" * 4001, "client_id": "abcdefgh5"}),
        ("send_message", {"conversation_id": "CONV", "body": ["x"], "client_id": "abcdefgh6"}),
        ("send_message", {"conversation_id": "CONV", "body": "x", "client_id": "bad id"}),
        ("send_message", {"conversation_id": "CONV", "body": "x", "client_id": {"a": 1}}),
        ("sync", {"conversation_id": "CONV", "after_id": "x"}),
        ("sync", {"conversation_id": "CONV", "after_id": -5}),
        ("read", {"conversation_id": "CONV", "message_id": {"x": 1}}),
        ("typing", 12),
        ("delivered", None),
    ],
)
def test_malformed_payloads_get_a_clear_refusal(app, connect, circle, conversation, event, payload):
    nurse = connect(circle.nurse)
    if isinstance(payload, dict) and payload.get("conversation_id") == "CONV":
        payload = {**payload, "conversation_id": conversation}
    reply = nurse.emit(event, payload, namespace=NS, callback=True)
    assert reply["ok"] is False and reply["error"] and reply["status"] in (400, 403, 404)
    assert _count(app) == 0
    assert nurse.is_connected(NS)


def test_outsiders_cannot_send_sync_or_type(app, connect, circle, conversation):
    stranger, doctor = connect(circle.stranger), connect(circle.doctor)
    for sio in (stranger, doctor):
        for event, payload in [
            (
                "send_message",
                {"conversation_id": conversation, "body": "x", "client_id": client_id()},
            ),
            ("sync", {"conversation_id": conversation}),
            ("typing", {"conversation_id": conversation}),
            ("read", {"conversation_id": conversation, "message_id": 1}),
        ]:
            reply = sio.emit(event, payload, namespace=NS, callback=True)
            assert reply == {"ok": False, "error": "You do not have access to this.", "status": 403}
    assert _count(app) == 0


def test_forged_client_id_over_the_socket(app, connect, circle, conversation):
    nurse, relative = connect(circle.nurse), connect(circle.relative)
    cid = client_id()
    assert nurse.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": cid, "body": "mine"},
        namespace=NS,
        callback=True,
    )["ok"]
    reply = relative.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": cid, "body": "forged"},
        namespace=NS,
        callback=True,
    )
    assert reply["ok"] is False and reply["status"] == 409
    assert _count(app) == 1


def test_new_conversation_rooms_are_joined_live(app, connect, circle):
    patient = connect(circle.patient)
    with app.app_context():
        conv = services.start_conversation(
            get(circle.nurse), patient=get(circle.patient), member_ids=[], subject="New"
        )
        services.post_message(get(circle.nurse), conv, "hello", client_id())
        conv_id = conv.id
    received = patient.get_received(NS)
    assert [(e["name"], e["args"][0]["conversation_id"]) for e in received] == [
        ("list_changed", conv_id),
        ("new_message", conv_id),
    ]


def test_revoked_relative_stops_receiving_at_once(app, connect, circle, conversation):
    """The care circle's acceptance test: revoking the grant pulls the relative's open socket
    out of the patient's rooms before the next message is sent."""
    from webapp.circle import services as circle_services
    from webapp.circle.models import Grant

    relative, nurse = connect(circle.relative), connect(circle.nurse)
    _opens(relative, conversation)  # her page shows it
    send = lambda body: nurse.emit(  # noqa: E731
        "send_message",
        {
            "conversation_id": conversation,
            "client_id": client_id(),
            "body": body,
        },
        namespace=NS,
        callback=True,
    )
    send("before")
    assert [m["conversation_id"] for m in events(relative, "new_message")] == [conversation]
    with app.app_context():
        grant = db.session.scalar(select(Grant).filter_by(grantee_id=circle.relative.id))
        circle_services.revoke_grant(get(circle.patient), grant.id)
    assert events(relative, "access_lost") == [{"conversation_ids": [conversation]}]
    send("after")
    _types(nurse, conversation)
    assert relative.get_received(NS) == []  # neither the message nor the typing
    reply = relative.emit("sync", {"conversation_id": conversation}, namespace=NS, callback=True)
    assert reply["ok"] is False and reply["status"] == 403


def test_a_message_asks_the_circle_for_the_senders_grant_once(app, connect, circle, conversation):
    """May read, may write (for the patient, for a relative), the history's "acting as": one
    look-up of the grant in force per event, not one per question."""
    senders = {"nurse": connect(circle.nurse), "relative": connect(circle.relative)}
    for name, sio in senders.items():
        with app.app_context(), recorded_statements() as statements:
            ack = sio.emit(
                "send_message",
                {"conversation_id": conversation, "client_id": client_id(), "body": name},
                namespace=NS,
                callback=True,
            )
        assert ack["ok"], ack
        seen = reading(statements, "circle_grants")
        assert len(seen) == 1, (name, seen)


def test_push_goes_to_members_without_a_live_connection(
    app, connect, circle, conversation, push_endpoint
):
    """Only the nurse is connected: Jeanne and Claire each get a push on their device (the local
    push service decrypts it), in their own language and with their own "show details" choice,
    and never the text of the message."""
    from webapp.accounts.models import User
    from webapp.push import services as push
    from webapp.push.models import PushSubscription

    devices = {}
    with app.app_context():
        jeanne, claire = get(circle.patient), get(circle.relative)
        jeanne.language = "fr"
        db.session.commit()
        push.set_show_details(claire, True)
        for user in (jeanne, claire):
            device = push_endpoint.subscription()
            push.subscribe(db.session.get(User, user.id), device.info())
            devices[device.token] = user.id
    nurse = connect(circle.nurse)
    ack = nurse.emit(
        "send_message",
        {
            "conversation_id": conversation,
            "client_id": client_id(),
            "body": "Résultats de la prise de sang",
        },
        namespace=NS,
        callback=True,
    )
    assert ack["ok"]
    received = push_endpoint.wait_for(2)
    assert push_endpoint.errors == []
    by_user = {devices[d.token]: d for d in received}
    assert set(by_user) == {circle.patient.id, circle.relative.id}
    to_jeanne, to_claire = by_user[circle.patient.id], by_user[circle.relative.id]
    assert to_jeanne.payload["title"] == "Nouveau message sécurisé"
    assert to_jeanne.payload["body"] == "Ouvrez Health Space pour le lire."
    assert to_claire.payload["title"] == "New secure message"
    assert to_claire.payload["body"] == "From Nadia Benali"  # she chose to see who wrote
    for delivery in received:
        payload = delivery.payload
        assert payload["url"] == f"/chat/{conversation}" and payload["kind"] == "message"
        assert payload["data"] == {"conversation_id": conversation}
        assert "prise de sang" not in delivery.body.decode() and "Résultats" not in str(payload)
        assert delivery.urgency == "high" and delivery.ttl > 0
    assert "Nadia" not in to_jeanne.body.decode()
    # The sending ran off the request path; let it record its outcome before the test ends.
    with app.app_context():
        for _ in range(200):
            rows = db.session.scalars(select(PushSubscription.last_success_at)).all()
            if len(rows) == 2 and all(rows):
                break
            db.session.rollback()
            time.sleep(0.05)
        assert all(rows)

def test_each_member_receives_the_message_in_their_own_language_and_zone(
    app, connect, circle, conversation
):
    """Claire (English, Paris) writes for Jeanne: Jeanne (French, Montréal) gets French labels
    and her own clock time, Nadia (English, Paris) English, and Claire's ack is in English."""
    import pytz

    from webapp.accounts.models import User

    with app.app_context():
        jeanne = db.session.get(User, circle.patient.id)
        jeanne.language, jeanne.timezone = "fr", "America/Montreal"
        db.session.commit()
    claire, jeanne, nadia = connect(circle.relative), connect(circle.patient), connect(circle.nurse)
    ack = claire.emit(
        "send_message",
        {"conversation_id": conversation, "client_id": client_id(), "body": "Maman va bien"},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"]
    [to_jeanne] = events(jeanne, "new_message")
    [to_nadia] = events(nadia, "new_message")
    assert events(claire, "new_message") == []  # the sender's socket has it in its ack
    assert "Écrit par Claire Martin pour Jeanne Martin" in to_jeanne["html"]
    assert "Envoyé" in to_jeanne["html"] and "Written by" not in to_jeanne["html"]
    for html in (to_nadia["html"], ack["html"]):
        assert "Written by Claire Martin for Jeanne Martin" in html and "Écrit" not in html
    with app.app_context():
        created = db.session.get(Message, ack["id"]).created_at
    at = pytz.utc.localize(created)
    montreal = at.astimezone(pytz.timezone("America/Montreal"))
    paris = at.astimezone(pytz.timezone("Europe/Paris"))
    assert montreal.strftime("%H:%M") != paris.strftime("%H:%M")
    assert f">{montreal:%H:%M}</time>" in to_jeanne["html"]
    assert f'data-day="{montreal.date().isoformat()}"' in to_jeanne["html"]
    assert f">{paris:%H:%M}</time>" in to_nadia["html"] and f">{paris:%H:%M}</time>" in ack["html"]
