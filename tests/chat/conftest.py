"""A small care circle for the chat tests: Jeanne (patient), Claire (her daughter, messages),
Nadia (nurse, messages), Paul (GP, agenda only: no messages), Olga (a stranger)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from webapp.accounts.models import User
from webapp.extensions import db

_ids = itertools.count(1)


def client_id(prefix: str = "c") -> str:
    return f"{prefix}-{next(_ids):06d}-test"


def say(sio, conversation_id: int, body: str) -> int:
    """Send `body` over a test socket (Socket.IO test client); the stored message's id."""
    ack = sio.emit(
        "send_message",
        {"conversation_id": conversation_id, "client_id": client_id(), "body": body},
        namespace="/chat",
        callback=True,
    )
    assert ack["ok"], ack
    return ack["id"]


def get(user_or_id) -> User:
    return db.session.get(User, getattr(user_or_id, "id", user_or_id))


def give(patient, grantee, scopes: str) -> None:
    from webapp.circle import services as circle

    circle.grant(get(patient), get(grantee), scopes, None)
    db.session.commit()


@pytest.fixture
def circle(app, make_user):
    patient = make_user("patient", display_name="Jeanne Martin", language="en")
    relative = make_user("relative", display_name="Claire Martin", language="en")
    nurse = make_user("professional", display_name="Nadia Benali", language="en")
    doctor = make_user("professional", display_name="Paul Lefevre", profession="GP", language="en")
    stranger = make_user("relative", display_name="Olga Stranger", language="en")
    with app.app_context():
        give(patient, relative, "messages,agenda")
        give(patient, nurse, "messages,agenda,documents")
        give(patient, doctor, "agenda")
    return SimpleNamespace(
        patient=patient, relative=relative, nurse=nurse, doctor=doctor, stranger=stranger
    )


@pytest.fixture
def conversation(app, circle):
    """A care conversation about Jeanne with Claire and Nadia; returns its id."""
    from webapp.chat import services

    with app.app_context():
        conv = services.start_conversation(
            get(circle.nurse),
            patient=get(circle.patient),
            member_ids=[circle.relative.id],
            subject="Dressing change",
        )
        return conv.id


@pytest.fixture(autouse=True)
def _sockets_in_process():
    """Socket.IO test clients need an in-process manager even in the REDIS_URL run; the
    cross-process path is tested with real server processes in test_live.py."""
    from tests.security.matrix import in_process_sockets
    from webapp.extensions import socketio

    if socketio.server is None:  # no app in this process (live-server tests run alone)
        yield
        return
    with in_process_sockets():
        yield


@pytest.fixture
def connect(app, login):
    """connect(user): a Socket.IO test client on /chat, signed in as that user (the login
    cookie of an HTTP test client); disconnected at teardown."""
    from webapp.extensions import socketio

    clients = []

    def make(user):
        http = app.test_client()
        login(http, user)
        sio = socketio.test_client(app, namespace="/chat", flask_test_client=http)
        assert sio.is_connected("/chat")
        clients.append(sio)
        return sio

    yield make
    for sio in clients:
        if sio.is_connected("/chat"):
            sio.disconnect(namespace="/chat")
