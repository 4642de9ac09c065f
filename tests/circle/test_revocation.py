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
    # Told at once, on her own room: the conversations lost, and (for every page that shows
    # the patient's data, the agenda's) whose access changed.
    received = sock.get_received("/chat")
    assert "access_lost" in _names(received)
    assert {"patient_id": granted.jeanne.id} in [
        p["args"][0] for p in received if p["name"] == "access_changed"]
    # …and the very next message of the patient's does not reach her.
    _post(app, granted.jeanne.id, conversation_id, "After")
    assert "new_message" not in _names(sock.get_received("/chat"))
    # Asking to be put back in the room is refused too.
    ack = sock.emit("sync", {"conversation_id": conversation_id}, namespace="/chat",
                    callback=True)
    assert ack["ok"] is False


def test_closing_the_space_cuts_every_open_socket_of_the_circle(app, live):
    granted, jeanne_http, sock, conversation_id = live
    response = jeanne_http.post("/accounts/me/close", data={"confirm": "yes"})
    assert response.status_code == 302
    assert "access_lost" in _names(sock.get_received("/chat"))
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


def test_an_ending_grant_leaves_the_live_socket_once_the_sweep_runs(app, live):
    """Reaching an end date is no request: nobody revokes anything. The periodic sweep (the
    loop `make run` starts and `flask circle sweep --loop` runs) is what cuts the socket."""
    import threading
    from datetime import timedelta

    from webapp.circle import services as circle
    from webapp.circle import sweeper
    from webapp.circle.models import Grant
    from webapp.circle.signals import access_changed

    granted, _jeanne_http, sock, conversation_id = live
    with app.app_context():
        db.session.get(Grant, granted.claire_grant).ends_at = circle.now() - timedelta(seconds=1)
        db.session.commit()
    # Policy already refuses her, but her open socket is still in the room: the gap.
    _post(app, granted.jeanne.id, conversation_id, "After the end date, before the sweep")
    assert "new_message" in _names(sock.get_received("/chat"))

    signalled, stop = threading.Event(), threading.Event()

    def heard(sender, patient_id=None, grantee_id=None, **extra):
        if (patient_id, grantee_id) == (granted.jeanne.id, granted.claire.id):
            signalled.set()

    access_changed.connect(heard)
    loop = threading.Thread(target=sweeper.run_forever, args=(app, stop, 0.5), daemon=True)
    loop.start()
    try:
        assert signalled.wait(30), "the sweep loop never signalled the ended grant"
    finally:
        stop.set()
        loop.join(10)
        access_changed.disconnect(heard)
    assert not loop.is_alive()
    assert "access_lost" in _names(sock.get_received("/chat"))
    _post(app, granted.jeanne.id, conversation_id, "After the sweep")
    assert "new_message" not in _names(sock.get_received("/chat"))
    with app.app_context():
        assert db.session.get(Grant, granted.claire_grant).expiry_signalled_at is not None
