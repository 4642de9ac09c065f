"""Matrix entries for the chat (webapp/chat/routes.py and webapp/chat/events.py).

The shared conversation is about the owner and has EVERY role's user as a member: membership
alone opens nothing, the `messages` scope on the owner decides (an expired, revoked or blocked
member is refused). Routes that change a conversation get a fresh one per cell.
"""

from __future__ import annotations

from tests.security.matrix import (
    ALLOW,
    DENY,
    NOT_FOUND,
    PRO_BLOCKED,
    PRO_GRANTED,
    PRO_NO_GRANT,
    REFUSED,
    Event,
    Route,
    Skip,
    expect,
)


def _make_conversation(s):
    from webapp import crypto
    from webapp.chat.models import Conversation, ConversationMember
    from webapp.chat.services import now
    from webapp.extensions import db

    at = now()
    conversation = Conversation(
        kind="care",
        patient_id=s.owner.id,
        created_by_id=s.owner.id,
        created_at=at,
        last_activity_at=at,
        subject_sealed=crypto.seal("Matrix", Conversation.subject_aad(at)),
    )
    conversation.members = [
        ConversationMember(user_id=user.id, joined_at=at)
        for user in s.users.values()
        if user is not None
    ]
    db.session.add(conversation)
    db.session.flush()
    return conversation


def _shared(s) -> int:
    return s.once("conversation", lambda s: _make_conversation(s).id)


def _fresh(s) -> int:
    from webapp.extensions import db

    conversation = _make_conversation(s)
    db.session.commit()
    return conversation.id


def _reply_of_pro_granted(s) -> int:
    from webapp import crypto
    from webapp.chat.models import QuickReply
    from webapp.chat.services import now
    from webapp.extensions import db

    at = now()
    owner_id = s.user(PRO_GRANTED).id
    reply = QuickReply(
        owner_id=owner_id,
        created_at=at,
        text_sealed=crypto.seal("ok", QuickReply.text_aad(owner_id, at)),
    )
    db.session.add(reply)
    db.session.commit()
    return reply.id


MESSAGES = expect.scope("messages")
PROFESSIONALS = expect.roles({PRO_GRANTED, PRO_NO_GRANT, PRO_BLOCKED})
LIVE = expect.scope("messages", ok=ALLOW, denied=DENY, anonymous=REFUSED)

ROUTES = {
    "chat.index": Route("GET", "/chat/", expect.signed_in()),
    "chat.unread": Route("GET", "/chat/unread", expect.signed_in()),
    "chat.mine_css": Route("GET", "/chat/me.css", expect.signed_in()),
    "chat.new": [
        Route("GET", "/chat/new", expect.signed_in()),
        # Starting a conversation about the owner with the granted professional.
        Route(
            "POST",
            "/chat/new",
            MESSAGES,
            data=lambda s: {
                "patient": s.owner.id,
                "subject": "Matrix",
                "members": [s.user(PRO_GRANTED).id],
            },
        ),
    ],
    "chat.conversation": Route("GET", lambda s: f"/chat/{_shared(s)}", MESSAGES),
    "chat.messages": Route("GET", lambda s: f"/chat/{_shared(s)}/messages", MESSAGES),
    "chat.post": Route(
        "POST",
        lambda s: f"/chat/{_shared(s)}/messages",
        MESSAGES,
        data=lambda s: {"body": "hello", "client_id": s.uid()},
    ),
    "chat.composer": Route("GET", lambda s: f"/chat/{_shared(s)}/composer", MESSAGES),
    # Only a professional member who still reaches the patient's messages may close.
    "chat.close": Route(
        "POST",
        lambda s: f"/chat/{_fresh(s)}/close",
        expect.roles({PRO_GRANTED}),
        data={"closed": "1"},
    ),
    # Whoever may write in it adds someone the owner gave the messages scope (a fresh
    # conversation and a fresh person per cell).
    "chat.members": [
        Route("GET", lambda s: f"/chat/{_shared(s)}/members", MESSAGES),
        Route(
            "POST",
            lambda s: f"/chat/{_fresh(s)}/members",
            MESSAGES,
            data=lambda s: {"members": [s.disposable_grant(scopes={"messages"}).grantee_id]},
        ),
    ],
    "chat.quick_replies": [
        Route("GET", "/chat/quick-replies", PROFESSIONALS),
        Route("POST", "/chat/quick-replies", PROFESSIONALS, data={"text": "On my way"}),
    ],
    # Another professional's reply does not exist for them; non-professionals are refused.
    "chat.delete_quick_reply": Route(
        "POST",
        lambda s: f"/chat/quick-replies/{_reply_of_pro_granted(s)}/delete",
        expect.roles({PRO_GRANTED}).but(pro_no_grant=NOT_FOUND, pro_blocked=NOT_FOUND),
    ),
}

EVENTS = {
    ("/chat", "connect"): Event(expect.signed_in(ok=ALLOW, anonymous=REFUSED)),
    ("/chat", "disconnect"): Skip("runs when a socket closes; it only forgets the socket"),
    ("/chat", "send_message"): Event(
        LIVE,
        args=lambda s: ({"conversation_id": _shared(s), "client_id": s.uid(), "body": "hello"},),
    ),
    ("/chat", "sync"): Event(LIVE, args=lambda s: ({"conversation_id": _shared(s)},)),
    ("/chat", "typing"): Event(LIVE, args=lambda s: ({"conversation_id": _shared(s)},)),
    # Leaves this socket's own "showing a conversation" room: nothing to allow or refuse.
    ("/chat", "away"): Event(expect.signed_in(ok=ALLOW, anonymous=REFUSED), args=({},)),
    ("/chat", "delivered"): Event(
        LIVE, args=lambda s: ({"conversation_id": _shared(s), "message_id": 1},)
    ),
    ("/chat", "read"): Event(
        LIVE, args=lambda s: ({"conversation_id": _shared(s), "message_id": 1},)
    ),
}
