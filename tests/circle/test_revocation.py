"""Revocation is immediate, live sockets included: once the patient's "revoke" (or "narrow")
request has returned, the relative's open /chat socket gets nothing more of the patient's.

The chat's real socket handlers and rooms are used (namespace /chat, rooms conversation:<id>
and user:<id>); the circle sends `access_changed` after its commit and the chat pulls the
socket out of the rooms it may no longer read.
"""

from __future__ import annotations

import itertools

import pytest

from tests.circle.conftest import get
from tests.security.matrix import in_process_sockets
from webapp.extensions import db, socketio

_ids = itertools.count(1)


def _names(received) -> list[str]:
    return [packet["name"] for packet in received]


def _post(app, author_id, conversation_id, body):
    from webapp.chat import services as chat

    with app.app_context():
        conversation = chat.get_conversation(get(author_id), conversation_id)
        chat.post_message(get(author_id), conversation, body, f"revocation-{next(_ids):05d}")


@pytest.fixture(autouse=True)
def _sockets_in_process():
    with in_process_sockets():
        yield


@pytest.fixture
def live(app, granted, login):
    from webapp.chat import services as chat

    with app.app_context():
        jeanne = get(granted.jeanne)
        conversation_id = chat.start_conversation(
            jeanne, patient=jeanne, member_ids=[granted.claire.id], subject="Care").id
    claire_http = login(app.test_client(), granted.claire)
    jeanne_http = login(app.test_client(), granted.jeanne)
    sock = socketio.test_client(app, namespace="/chat", flask_test_client=claire_http)
    assert sock.is_connected("/chat")
    sock.get_received("/chat")
    # Before: Claire's socket receives Jeanne's messages (so the test can fail).
    _post(app, granted.jeanne.id, conversation_id, "Before")
    assert "new_message" in _names(sock.get_received("/chat"))
    yield granted, jeanne_http, sock, conversation_id
    if sock.is_connected("/chat"):
        sock.disconnect(namespace="/chat")


def test_revoking_cuts_the_open_socket_at_once(app, live):
    granted, jeanne_http, sock, conversation_id = live
    response = jeanne_http.post(f"/circle/grants/{granted.claire_grant}/revoke")
    assert response.status_code == 302
    # Told at once, on her own room…
    assert "access_lost" in _names(sock.get_received("/chat"))
    # …and the very next message of the patient's does not reach her.
    _post(app, granted.jeanne.id, conversation_id, "After")
    assert "new_message" not in _names(sock.get_received("/chat"))
    # Asking to be put back in the room is refused too.
    ack = sock.emit("sync", {"conversation_id": conversation_id}, namespace="/chat",
                    callback=True)
    assert ack["ok"] is False


def test_narrowing_away_messages_cuts_the_socket_too(app, live):
    granted, jeanne_http, sock, conversation_id = live
    response = jeanne_http.post(f"/circle/grants/{granted.claire_grant}",
                                data={"scopes": ["agenda"]})
    assert response.status_code == 302
    _post(app, granted.jeanne.id, conversation_id, "After narrowing")
    assert "new_message" not in _names(sock.get_received("/chat"))


def test_blocking_a_professional_cuts_their_socket(app, granted, login):
    from webapp.chat import services as chat

    with app.app_context():
        jeanne = get(granted.jeanne)
        conversation_id = chat.start_conversation(
            jeanne, patient=jeanne, member_ids=[granted.nadia.id], subject="Dressing").id
    nadia_http = login(app.test_client(), granted.nadia)
    jeanne_http = login(app.test_client(), granted.jeanne)
    sock = socketio.test_client(app, namespace="/chat", flask_test_client=nadia_http)
    try:
        _post(app, granted.jeanne.id, conversation_id, "Before")
        assert "new_message" in _names(sock.get_received("/chat"))
        assert jeanne_http.post("/circle/blocks",
                                data={"professional_id": granted.nadia.id}).status_code == 302
        _post(app, granted.jeanne.id, conversation_id, "After")
        assert "new_message" not in _names(sock.get_received("/chat"))
    finally:
        sock.disconnect(namespace="/chat")
    with app.app_context():
        db.session.remove()
