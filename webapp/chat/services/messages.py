"""Messages: sending (idempotent on the client id), delivering to live sockets and pushing to
the others, history pages, the replay after a reconnect, delivered and read marks.

A write follows "How a message travels" (ARCHITECTURE.md): ask policy, seal, insert, commit,
and only then tell the live sockets and push to members who have none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ... import audit, crypto, policy
from ...accounts.models import User
from ...errors import Conflict, Forbidden, UserError
from ...extensions import db, socketio
from ..models import Conversation, ConversationMember, Message
from . import writes
from .common import (
    NAMESPACE,
    PAGE_SIZE,
    PUSH_TTL,
    SYNC_LIMIT,
    clean_body,
    clean_client_id,
    commit_keeping_loaded,
    live_presence,
    now,
    parse_optional_id,
    rendering_for,
    user_room,
    variant_of,
    variant_room,
)
from .listing import unread_total
from .snapshot import keep_stored

log = logging.getLogger(__name__)


def post_message(
    author: User,
    conversation: Conversation,
    body,
    client_id,
    on_behalf_of: User | None = None,
    *,
    from_sid: str | None = None,
) -> tuple[Message, bool]:
    """Store one message (idempotent on client_id), then deliver it. Returns (message, created).

    Retrying with the same client id returns the stored message and delivers nothing twice;
    a client id already used by someone else, or in another conversation, is refused.
    `from_sid`: the socket that sent it, which gets the fragment in its acknowledgement and
    not a second time as an event.
    """
    client_id = clean_client_id(client_id)
    # The unique client id is the idempotency check: a retry's INSERT fails and is answered
    # with the stored message below (no look-up before every insert). A retry refused by
    # the checks (closed since, access ended) is still answered with what was stored.
    try:
        if not policy.can(author, "conversation.write", conversation):
            # Policy decided; only the wording is chosen here. A member of a closed
            # conversation is told why, anyone else gets the generic refusal.
            if conversation.is_closed and conversation.has_member(author):
                raise Forbidden(_("This conversation is closed to replies."))
            policy.require(author, "conversation.write", conversation)
        body = clean_body(body)
        patient = conversation.patient
        if on_behalf_of is None and patient is not None and author.is_relative:
            on_behalf_of = patient
        if on_behalf_of is not None and not policy.can(
            author, "conversation.write_for", (conversation, on_behalf_of)
        ):
            raise Forbidden(_("You can only write for the patient of this conversation."))
    except UserError:
        existing = _by_client_id(client_id)
        if existing is not None:
            return _same_sender(existing, author, conversation), False
        raise
    at = now()
    history = None
    if patient is not None:
        history = audit.entry(author, patient, "write", "message", on_behalf_of=on_behalf_of)
    try:
        message = writes.store(
            conversation,
            conversation.member(author),
            history,
            conversation_id=conversation.id,
            author_id=author.id,
            on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
            client_id=client_id,
            body_sealed=crypto.seal(body, Message.body_aad(client_id)),
            created_at=at,
        )
        # What the fragment reads, already at hand: no opening again, no loading the
        # author (the session has them, but the lazy loader's look-up is not free).
        message.opened_as(body)
        set_committed_value(message, "author", author)
        set_committed_value(message, "on_behalf_of", on_behalf_of)
    except IntegrityError:
        # A retry, or another request with the same client id that won the race.
        db.session.rollback()
        existing = _by_client_id(client_id)
        if existing is None:
            raise
        return _same_sender(existing, author, conversation), False
    commit_keeping_loaded()
    _deliver(conversation, message, skip_sid=from_sid)
    return message, True


def _by_client_id(client_id: str) -> Message | None:
    return db.session.scalar(select(Message).where(Message.client_id == client_id))


def _same_sender(message: Message, author: User, conversation: Conversation) -> Message:
    if message.author_id != author.id or message.conversation_id != conversation.id:
        raise Conflict(
            _("This message identifier is already taken. Reload the page and try again.")
        )
    return message


def render_message(
    message: Message, conversation: Conversation, variant: str | None = None
) -> str:
    """The fragment members receive, in `variant`'s language and time zone (None: the current
    request's). Rendered without the app's context processors (they serve full pages and cost
    queries); rendered once per message and variant and kept on the message."""
    cache = getattr(message, "_rendered_html", None)
    if cache is None:
        cache = message._rendered_html = {}
    html = cache.get(variant)
    if html is None:
        template = current_app.jinja_env.get_template("chat/_message.html")
        context = dict(
            message=message, conversation=conversation, receipt=status_of(message, conversation)
        )
        if variant is None:
            html = template.render(**context)
        else:
            with rendering_for(variant):
                html = template.render(**context)
        cache[variant] = html
    return html


def _deliver(conversation: Conversation, message: Message, skip_sid: str | None = None) -> None:
    """After the commit: the fragment to every live socket, each in its member's language and
    time zone (one rendering per variant present), a push to members with no live socket."""
    presence = live_presence()
    variants: set[str] = set()
    offline: list[int] = []
    for member in conversation.members:
        live = presence.variants(member.user_id)
        if live:
            variants |= {v or variant_of(member.user) for v in live}
        elif member.user_id != message.author_id:
            offline.append(member.user_id)
    for variant in sorted(variants):
        socketio.emit(
            "new_message",
            {
                "conversation_id": conversation.id,
                "id": message.id,
                "client_id": message.client_id,
                "author_id": message.author_id,
                "html": render_message(message, conversation, variant),
            },
            to=variant_room(conversation.id, variant),
            namespace=NAMESPACE,
            skip_sid=skip_sid,
        )
    # Let the sockets' writers send it now: under the gevent worker nothing else runs until
    # this handler yields, and what is left (pushes, the sender's acknowledgement, closing
    # the request) would otherwise come before every member's delivery.
    socketio.sleep(0)
    if offline:
        # Their accounts are not loaded by a socket event (see snapshot.py): one query.
        users = db.session.scalars(_accounts(), {"ids": offline}).all()
        # A member whose access ended stays a member: no "new message" they could not open.
        readers = [u for u in users if policy.can(u, "conversation.read", conversation)]
        notify_offline(readers, conversation, message)


@cache
def _accounts():
    # Built once, the ids bound at each run: building `in_([...])` anew leaves SQLAlchemy
    # objects in reference cycles, for the collector that stops the whole worker.
    return select(User).where(User.id.in_(bindparam("ids", expanding=True)))


def notify_offline(users: list[User], conversation: Conversation, message: Message):
    """Push "New secure message" (never the text) to members with no live connection.

    Each payload is built here, in its recipient's language and with the sender's name only
    for those who chose to see details; the sending runs in a background task with its own
    app context, so a slow push service never delays the reply. Returns that task (None when
    nobody is to be notified)."""
    from flask_babel import lazy_gettext

    from ...push import services as push

    link = f"/chat/{conversation.id}"  # a path: no request is needed to build it
    topic = f"conversation-{conversation.id}"
    author = message.author
    detailed = push.users_showing_details(u.id for u in users)
    jobs = [
        push.PushJob(
            user=user.id,
            payload=push.notification(
                user,
                kind="message",
                url=link,
                tag=topic,
                title=lazy_gettext("New secure message") if author else None,
                body=lazy_gettext("From %(name)s", name=author.display_name) if author else None,
                actions=[("open", lazy_gettext("Open"))],
                data={"conversation_id": conversation.id},
                show_details=user.id in detailed,
            ),
            ttl=PUSH_TTL,
            urgency="high",
            topic=topic,
            key=user.id,
        )
        for user in users
    ]
    if not jobs:
        return None
    return socketio.start_background_task(_send_pushes, current_app._get_current_object(), jobs)


def _send_pushes(app, jobs) -> None:
    from ...push import services as push

    with app.app_context():
        try:
            push.send_many(jobs)
        except Exception:  # noqa: BLE001 - a push must never disturb messaging
            log.warning("chat push failed", exc_info=True)
        finally:
            db.session.remove()


@dataclass
class Status:
    kind: str  # sent / delivered / read
    read_by: list[str] = field(default_factory=list)


def status_of(message: Message, conversation: Conversation) -> Status:
    # Someone added later starts with their marks at the last message (nothing unread for
    # them): that is not having read what came before they joined.
    others = [m for m in conversation.members
              if m.user_id != message.author_id and m.joined_at <= message.created_at]
    read_by = [m.user.display_name for m in others if m.last_read_id >= message.id]
    if read_by:
        return Status("read", read_by)
    if any(m.last_delivered_id >= message.id for m in others):
        return Status("delivered")
    return Status("sent")


def _message_query(conversation: Conversation):
    return (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .options(selectinload(Message.author), selectinload(Message.on_behalf_of))
    )


def history(
    viewer: User,
    conversation: Conversation,
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Message], bool]:
    """One page, newest first by keyset (never OFFSET); returned oldest → newest."""
    policy.require(viewer, "conversation.read", conversation)
    limit = max(1, min(limit, 100))
    query = _message_query(conversation)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    _record_read(viewer, conversation)
    return rows, more


def messages_after(
    viewer: User, conversation: Conversation, after_id: int | None, limit: int = SYNC_LIMIT
) -> tuple[list[Message], bool]:
    """Everything after the last id a device has, for the replay on reconnect."""
    policy.require(viewer, "conversation.read", conversation)
    query = _message_query(conversation)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    rows = list(db.session.scalars(query.order_by(Message.id.asc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if rows:
        _record_read(viewer, conversation)
    return rows, more


def _record_read(viewer: User, conversation: Conversation) -> None:
    if conversation.patient_id is not None and viewer.id != conversation.patient_id:
        audit.record(viewer, conversation.patient_id, "read", "conversation", conversation.id)
        commit_keeping_loaded()


_members = ConversationMember.__table__
# A mark only moves forward, in one plain statement: "read" moves "delivered" along with it
# (reading implies delivery, so delivered is never behind read).
_MARK_DELIVERED = (
    update(_members)
    .where(_members.c.conversation_id == bindparam("conversation"),
           _members.c.user_id == bindparam("user"),
           _members.c.last_delivered_id < bindparam("up_to"))
    .values(last_delivered_id=bindparam("up_to"))
)
_MARK_READ = (
    update(_members)
    .where(_members.c.conversation_id == bindparam("conversation"),
           _members.c.user_id == bindparam("user"),
           _members.c.last_read_id < bindparam("up_to"))
    .values(
        last_read_id=bindparam("up_to"),
        last_delivered_id=case(
            (_members.c.last_delivered_id < bindparam("up_to"), bindparam("up_to")),
            else_=_members.c.last_delivered_id,
        ),
    )
)
# Who wrote what a mark has just passed: the receipt is theirs alone. Every phone of the
# conversation used to get it and drop it unless it was about its own messages.
_messages = Message.__table__
_AUTHORS_PASSED = (
    select(_messages.c.author_id)
    .where(_messages.c.conversation_id == bindparam("conversation"),
           _messages.c.id > bindparam("after"),
           _messages.c.id <= bindparam("up_to"),
           _messages.c.author_id != bindparam("user"))
    .distinct()
)


def mark(
    user: User, conversation: Conversation, up_to_id, kind: str
) -> int | None:
    """Move the user's delivered/read mark forward (never back). Returns the new mark (None
    when it did not move). The receipt goes to the authors of the messages the mark passed,
    not to the reader's own sockets."""
    policy.require(user, "conversation.read", conversation)
    up_to = parse_optional_id(up_to_id)
    if up_to is None or conversation.last_message_id is None:
        return None
    up_to = min(up_to, conversation.last_message_id)
    mine = conversation.member(user)
    if mine is None:
        return None
    after = mine.last_read_id if kind == "read" else mine.last_delivered_id
    connection = db.session.connection()
    params = {"conversation": conversation.id, "user": user.id, "up_to": up_to}
    moved = connection.execute(_MARK_READ if kind == "read" else _MARK_DELIVERED, params).rowcount
    if not moved:
        commit_keeping_loaded()
        return None
    if kind == "read":  # what is loaded says what is stored
        keep_stored(mine, last_read_id=up_to)
    if mine.last_delivered_id < up_to:
        keep_stored(mine, last_delivered_id=up_to)
    authors = connection.execute(_AUTHORS_PASSED, {**params, "after": after}).scalars().all()
    # The reader's new total, for their pages' badge: counted before the commit, in the same
    # transaction (on PostgreSQL a new one would cost three more round trips per receipt).
    unread = unread_total(user, readable=(conversation.id,)) if kind == "read" else None
    commit_keeping_loaded()
    if authors:
        socketio.emit(
            "receipt",
            {
                "conversation_id": conversation.id,
                "user_id": user.id,
                "name": user.display_name,
                "kind": kind,
                "up_to": up_to,
            },
            to=[user_room(author) for author in authors],
            namespace=NAMESPACE,
        )
    if kind == "read":
        # With the new total: the reader's pages set their badge without asking for it.
        socketio.emit("unread_changed", {"count": unread},
                      to=user_room(user.id), namespace=NAMESPACE)
    return up_to
