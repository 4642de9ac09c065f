"""A socket event leaves no cyclic garbage behind.

Objects in a reference cycle are freed only by Python's collector, and a collection stops every
socket of the worker (gunicorn.conf.py). Until the seventeenth session every event left 8 such
objects behind (Werkzeug's URL matcher, asked to route /socket.io/, which no route matches:
webapp/socket_middleware.py, SocketEventContext), and a message to someone offline 20 more
(SQLAlchemy's `in_([...])` built anew at each message: now statements built once). With none
left, steady traffic never starts a collection (bench/chat_fanout.py reports the worker's).
"""

from __future__ import annotations

import gc
from collections import Counter

from tests.chat.conftest import client_id

NS = "/chat"
EVENTS = 20


def _cyclic_garbage_of(run) -> Counter:
    """The objects `run()` left in reference cycles, counted by type."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds goes to gc.garbage, kept to name it
    try:
        run()
        gc.collect()
        return Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _ack(sio, name: str, payload: dict) -> dict:
    ack = sio.emit(name, payload, namespace=NS, callback=True)
    assert ack["ok"], ack
    return ack


def test_socket_events_leave_no_cyclic_garbage(app, circle, conversation, connect):
    # Jeanne, the patient, stays offline: each message also takes the path to her phone.
    relative, nurse = connect(circle.relative), connect(circle.nurse)
    payload = {"conversation_id": conversation}

    def send():
        return _ack(relative, "send_message", {**payload, "client_id": client_id(),
                                               "body": "Tomorrow at ten?"})["id"]

    def each_event_once():
        message = send()
        _ack(relative, "typing", payload)
        _ack(nurse, "delivered", {**payload, "message_id": message})
        _ack(nurse, "read", {**payload, "message_id": message})

    for _ in range(3):  # first runs compile statements and fill caches: not per event
        each_event_once()

    def events():
        for _ in range(EVENTS):
            each_event_once()
        relative.get_received(NS)
        nurse.get_received(NS)

    left = _cyclic_garbage_of(events)
    assert sum(left.values()) == 0, left.most_common(8)
