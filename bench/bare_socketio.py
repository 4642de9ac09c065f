"""The ceiling for this stack: a bare python-socketio server (gevent) that relays each message
to its room, with no Flask, no database, no sealing. Served by bench/chat_fanout.py."""

import socketio

sio = socketio.Server(async_mode="gevent", cors_allowed_origins="*")
app = socketio.WSGIApp(sio)


@sio.on("connect", namespace="/chat")
def connect(sid, environ, auth):
    sio.enter_room(sid, f"conversation:{(auth or {}).get('room')}", namespace="/chat")


@sio.on("send_message", namespace="/chat")
def send_message(sid, data):
    room = f"conversation:{data['conversation_id']}"
    sio.emit(
        "new_message",
        {
            "conversation_id": data["conversation_id"],
            "client_id": data["client_id"],
            "html": data["body"],
        },
        room=room,
        namespace="/chat",
    )
    return {"ok": True}
