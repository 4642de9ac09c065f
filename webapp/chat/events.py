"""Socket.IO handlers on /chat. Thin, like routes: parse, ask services, answer the ack.

Every connection is signed in (anonymous ones are refused), joins `user:<id>` and the rooms
of the conversations it may read. Each handler answers its acknowledgement with
{"ok": true, ...} or {"ok": false, "error": "<translated reason>"}; bad payloads never raise.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room, rooms

from ..circle.signals import access_changed
from ..errors import UserError
from ..extensions import db, socketio
from ..security import session_user_id
from . import services
from .presence import presence

log = logging.getLogger(__name__)
NS = services.NAMESPACE


def _me():
    user = current_user._get_current_object() if current_user else None
    if user is None or not user.is_authenticated or not user.is_active:
        raise UserError(_("Please sign in to continue."))
    return user


def _payload(data) -> dict:
    # Handlers take (data=None, *_ignored): an event sent with no argument or with several
    # is refused here like any other bad payload, instead of failing in the call.
    if not isinstance(data, dict):
        raise UserError(_("The request could not be understood."))
    return data


def _conversation(data: dict, action: str = "conversation.read"):
    """The signed-in user and the payload's conversation, policy asked (on every event).

    The conversation, its members and the sender's own account come first, in one query: the
    signed-in user is then found in the session instead of being queried again."""
    conversation_id = data.get("conversation_id")
    loaded, held = services.load_for_event(conversation_id, session_user_id())
    user = _me()
    conversation = services.event_conversation(user, conversation_id, loaded, action)
    del held  # kept until here: the session's identity map keeps only weak references
    return user, conversation


def _variant(user) -> str:
    """The language and zone this socket renders in: the ones it connected with."""
    return presence.variant_of(request.sid) or services.variant_of(user)


def _show(conversation_id: int | None) -> None:
    """This socket's page shows this conversation now (None: none). Typing goes to the
    sockets showing a conversation, not to every page of its members."""
    shown = services.screen_room(conversation_id) if conversation_id is not None else None
    for room in rooms(namespace=NS):
        if room.startswith(services.SCREEN_ROOMS) and room != shown:
            leave_room(room)
    if shown is not None:
        join_room(shown)


@socketio.on("connect", namespace=NS)
def connect(auth=None):
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("unauthorized")
    user = current_user._get_current_object()
    presence.configure(current_app.config)
    presence.start_refresher(socketio)
    join_room(services.user_room(user.id))
    variant = services.variant_of(user)
    for conversation_id in services.readable_conversation_ids(user):
        join_room(services.conversation_room(conversation_id))
        join_room(services.variant_room(conversation_id, variant))
    presence.add(user.id, request.sid, variant)
    db.session.remove()


@socketio.on("disconnect", namespace=NS)
def disconnect(reason=None):
    presence.remove(request.sid)


@socketio.on("send_message", namespace=NS)
def send_message(data=None, *_ignored):
    data = _payload(data)
    user, conversation = _conversation(data)
    message, created = services.post_message(
        user, conversation, data.get("body"), data.get("client_id"), from_sid=request.sid
    )
    return {
        "ok": True,
        "id": message.id,
        "client_id": message.client_id,
        "created": created,
        "html": services.render_message(message, conversation, _variant(user)),
    }


@socketio.on("sync", namespace=NS)
def sync(data=None, *_ignored):
    """Replay: everything after the last message id the device has, in server order."""
    data = _payload(data)
    user = _me()
    conversation = services.get_conversation(user, data.get("conversation_id"))
    after = services.parse_optional_id(data.get("after_id"))
    messages, more = services.messages_after(user, conversation, after)
    # The socket may have connected before it joined the conversation (or lost the room
    # while access was briefly withdrawn): sync is the moment to be sure it is in. A page
    # syncs the conversation it opens: it shows that one now.
    variant = _variant(user)
    join_room(services.conversation_room(conversation.id))
    join_room(services.variant_room(conversation.id, variant))
    _show(conversation.id)
    return {
        "ok": True,
        "more": more,
        "messages": [
            {
                "id": m.id,
                "client_id": m.client_id,
                "author_id": m.author_id,
                "html": services.render_message(m, conversation, variant),
            }
            for m in messages
        ],
    }


@socketio.on("away", namespace=NS)
def away(data=None, *_ignored):
    """The page went elsewhere (a boosted navigation): it shows no conversation now. Asks
    nothing of its payload: it only takes this socket out of a room of its own choosing."""
    _show(None)
    return {"ok": True}


@socketio.on("typing", namespace=NS)
def typing(data=None, *_ignored):
    data = _payload(data)
    user, conversation = _conversation(data, "conversation.write")
    socketio.emit(
        "typing",
        {"conversation_id": conversation.id, "user_id": user.id, "name": user.display_name},
        to=services.screen_room(conversation.id),
        namespace=NS,
        skip_sid=request.sid,
    )
    return {"ok": True}


@socketio.on("delivered", namespace=NS)
def delivered(data=None, *_ignored):
    """A message reached a device that is not showing its conversation: the reply carries the
    person's unread total, which that page's badge shows (no request of its own for it)."""
    data = _payload(data)
    user, conversation = _conversation(data)
    # Delivery changes no unread count: counted before the mark's commit, in its transaction
    # (policy has just allowed this conversation).
    unread = services.unread_total(user, readable=(conversation.id,))
    up_to = services.mark(user, conversation, data.get("message_id"), "delivered")
    return {"ok": True, "up_to": up_to, "unread": unread}


@socketio.on("read", namespace=NS)
def read(data=None, *_ignored):
    data = _payload(data)
    user, conversation = _conversation(data)
    up_to = services.mark(user, conversation, data.get("message_id"), "read")
    return {"ok": True, "up_to": up_to}


@socketio.on_error(NS)
def on_error(exc):
    db.session.rollback()
    if isinstance(exc, UserError):
        return {"ok": False, "error": exc.message, "status": exc.status}
    log.exception("chat socket handler failed")
    return {
        "ok": False,
        "error": _("Something went wrong on our side. Nothing was changed."),
        "status": 500,
    }


@access_changed.connect
def _on_access_changed(sender, patient_id=None, grantee_id=None, **extra):
    if patient_id is None or grantee_id is None:
        return
    try:
        services.withdraw_access(patient_id, grantee_id)
        # Every signed-in page holds this socket: a page showing this patient's data (the
        # agenda) loads itself again, and shows what policy allows now.
        socketio.emit("access_changed", {"patient_id": patient_id},
                      to=services.user_room(grantee_id), namespace=NS)
    except Exception:  # noqa: BLE001 - the grant change is committed; never undo it here
        log.exception("could not withdraw live access")
