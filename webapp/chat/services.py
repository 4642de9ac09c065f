"""Every chat write and every chat rule. Access decisions come from policy.py.

A write follows "How a message travels" (ARCHITECTURE.md): ask policy, seal, insert, commit,
and only then tell the live sockets and push to members who have none.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import flask_babel
import pytz
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, crypto, policy
from ..accounts.models import User
from ..errors import Conflict, Forbidden, NotFound, UserError
from ..extensions import db, socketio
from .models import Conversation, ConversationKind, ConversationMember, Message, QuickReply
from .presence import presence

log = logging.getLogger(__name__)

NAMESPACE = "/chat"
MAX_BODY = 4000
MAX_SUBJECT = 120
MAX_QUICK_REPLY = 300
MAX_QUICK_REPLIES = 30
MAX_MEMBERS = 20
PAGE_SIZE = 30
SYNC_LIMIT = 200
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PUSH_TTL = 24 * 3600


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


# ---- Variants: each member sees a message in their own language and time zone -----------
#
# A socket joins `conversation:<id>` (receipts, typing, closing: no text to translate) and
# `conversation:<id>:<language>:<time zone>`, its variant's sub-room, which gets the rendered
# message fragment. A new message is rendered once per variant among the live sockets of its
# members (typically one or two) and each rendering goes to its sub-room.


def variant_of(user) -> str:
    """"<language>|<time zone>" for this user, falling back to the app's defaults."""
    config = current_app.config
    language = getattr(user, "language", None)
    if language not in config["LANGUAGES"]:
        language = config["BABEL_DEFAULT_LOCALE"]
    zone = getattr(user, "timezone", None) or config["DEFAULT_TIMEZONE"]
    try:
        pytz.timezone(zone)
    except Exception:  # noqa: BLE001 - an unknown zone name: the default one
        zone = config["DEFAULT_TIMEZONE"]
    return f"{language}|{zone}"


def variant_room(conversation_id: int, variant: str) -> str:
    language, _, zone = variant.partition("|")
    return f"conversation:{conversation_id}:{language}:{zone}"


@contextmanager
def rendering_for(variant: str):
    """Templates inside this block speak `variant`'s language and show times in its zone."""
    language, _, zone = variant.partition("|")
    ctx = flask_babel._get_current_context()
    saved = getattr(ctx, "babel_tzinfo", None)
    ctx.babel_tzinfo = pytz.timezone(zone)
    try:
        with force_locale(language):
            yield
    finally:
        if saved is None:
            del ctx.babel_tzinfo
        else:
            ctx.babel_tzinfo = saved


# ---- Input -----------------------------------------------------------------------------

_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_text(text, *, limit: int, empty_message, long_message) -> str:
    """The messages are lazy (translated only when the text is refused): this runs on every
    message sent."""
    if not isinstance(text, str):
        raise UserError(str(empty_message), field="body")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Control and format characters (bidi overrides, NUL…) can disguise text: keep only
    # line breaks and tabs among them.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in _CONTROL)
    text = text.strip()
    if not text:
        raise UserError(str(empty_message), field="body")
    if len(text) > limit:
        raise UserError(str(long_message), field="body")
    return text


def clean_body(body) -> str:
    return clean_text(
        body,
        limit=MAX_BODY,
        empty_message=_l("Write a message before sending."),
        long_message=_l("A message can have at most %(n)d characters.", n=MAX_BODY),
    )


def clean_client_id(client_id) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise UserError(_("This message has no valid identifier. Reload the page and try again."))
    return client_id


def parse_id(value) -> int:
    """A positive database id from a form field, a query string or a socket payload."""
    if isinstance(value, bool):
        raise NotFound(_("This conversation does not exist."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit() and len(value) < 12:
        number = int(value)
    else:
        raise NotFound(_("This conversation does not exist."))
    if number <= 0 or number > 2**31 - 1:
        raise NotFound(_("This conversation does not exist."))
    return number


def parse_optional_id(value) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool):
        raise UserError(_("The request could not be understood."))
    if isinstance(value, int) and 0 < value < 2**31:
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 12 and 0 < int(value) < 2**31:
        return int(value)
    raise UserError(_("The request could not be understood."))


# ---- Conversations ---------------------------------------------------------------------


@cache
def _with_members():
    # Policy reads the members (membership) on every call, the fragment and the offline push
    # read their accounts: one joined query instead of three. Built once: every socket event
    # asks for it.
    return [joinedload(Conversation.members).joinedload(ConversationMember.user)]


@cache
def _for_event():
    # What a socket event needs: the members (policy), the patient of a care conversation
    # (policy), not every member's account. The account of the one who sent the event comes
    # in the same query (see prefetch_conversation).
    return [joinedload(Conversation.members), joinedload(Conversation.patient)]


def prefetch_conversation(conversation_id, user_id: int | None) -> object:
    """Load a conversation, its members, its patient and the account `user_id` into the
    session in ONE query, before the signed-in user is loaded: that user is then found in
    the session instead of being queried again (the same account, checked as usual by the
    user loader). Asks nothing: hold the result (the session's identity map is weak) and let
    get_conversation() decide. A bad id is left to get_conversation(). Returns what to hold."""
    try:
        conversation_id = parse_id(conversation_id)
    except UserError:
        return None
    if user_id is None:
        return db.session.get(Conversation, conversation_id, options=_for_event())
    return (
        db.session.execute(_event_query(), {"conversation": conversation_id, "user": user_id})
        .unique()
        .first()
    )


@cache
def _event_query():
    return (
        select(Conversation, User)
        .join_from(Conversation, User, User.id == bindparam("user"))
        .options(*_for_event())
        .where(Conversation.id == bindparam("conversation"))
    )


def get_conversation(user, conversation_id, action: str = "conversation.read") -> Conversation:
    conversation = db.session.get(Conversation, parse_id(conversation_id), options=_with_members())
    if conversation is None:
        raise NotFound(_("This conversation does not exist."))
    policy.require(user, action, conversation)
    return conversation


def candidates(creator: User, patient: User | None) -> list[User]:
    """People `creator` may add to a new conversation about `patient` (None: professionals)."""
    if patient is None:
        pool = db.session.scalars(
            select(User)
            .where(User.role == "professional", User.active.is_(True), User.id != creator.id)
            .order_by(User.display_name)
        ).all()
    else:
        pool = _circle_of(patient)
    return [u for u in pool if u.id != creator.id and policy.can(u, "conversation.join", patient)]


def _circle_of(patient: User) -> list[User]:
    from ..circle.models import Grant

    ids = db.session.scalars(select(Grant.grantee_id).where(Grant.patient_id == patient.id)).all()
    people = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name))
    return [patient, *people]


def start_conversation(creator: User, *, patient: User | None, member_ids, subject) -> Conversation:
    """Open a conversation; the creator (and the patient, for a care one) are always members."""
    policy.require(creator, "conversation.start", patient)
    subject = clean_text(
        subject,
        limit=MAX_SUBJECT,
        empty_message=_l("Give the conversation a subject."),
        long_message=_l("A subject can have at most %(n)d characters.", n=MAX_SUBJECT),
    )
    wanted: set[int] = set()
    for raw in member_ids or []:
        try:
            wanted.add(parse_id(raw))
        except UserError as exc:
            raise UserError(_("Choose people from the list."), field="members") from exc
    wanted.discard(creator.id)
    if patient is not None:
        wanted.discard(patient.id)
    others = db.session.scalars(select(User).where(User.id.in_(wanted))).all() if wanted else []
    if len(others) != len(wanted):
        raise UserError(_("Choose people from the list."), field="members")
    people = [creator] + ([patient] if patient is not None and patient.id != creator.id else [])
    people += others
    if len(people) < 2:
        raise UserError(_("Choose at least one person to write to."), field="members")
    if len(people) > MAX_MEMBERS:
        raise UserError(
            _("A conversation can have at most %(n)d people.", n=MAX_MEMBERS), field="members"
        )
    for person in people:
        if not policy.can(person, "conversation.join", patient):
            raise Forbidden(
                _("%(name)s cannot take part in this conversation.", name=person.display_name)
            )
    at = now()
    conversation = Conversation(
        kind=ConversationKind.CARE if patient is not None else ConversationKind.PROFESSIONAL,
        patient_id=patient.id if patient is not None else None,
        subject_sealed=crypto.seal(subject, Conversation.subject_aad(at)),
        created_by_id=creator.id,
        created_at=at,
        last_activity_at=at,
    )
    conversation.members = [ConversationMember(user_id=p.id, joined_at=at) for p in people]
    db.session.add(conversation)
    db.session.flush()
    if patient is not None:
        audit.record(
            creator,
            patient,
            "write",
            "conversation",
            conversation.id,
            on_behalf_of=patient if creator.is_relative else None,
        )
    db.session.commit()
    _after_start(conversation)
    return conversation


def _presence():
    """Presence, shared through Redis when the app has REDIS_URL (any process: a server, a
    CLI command or a worker that changes access must see every server's sockets)."""
    presence.configure(current_app.config.get("REDIS_URL"))
    return presence


def _after_start(conversation: Conversation) -> None:
    presence = _presence()
    room = conversation_room(conversation.id)
    for member in conversation.members:
        for sid, variant in presence.sockets(member.user_id).items():
            variant = variant or variant_of(member.user)
            for name in (room, variant_room(conversation.id, variant)):
                try:
                    socketio.server.enter_room(sid, name, namespace=NAMESPACE)
                except Exception:  # noqa: BLE001 - a socket that just left
                    log.debug("enter_room failed for %s", sid, exc_info=True)
        socketio.emit(
            "list_changed",
            {"conversation_id": conversation.id},
            to=user_room(member.user_id),
            namespace=NAMESPACE,
        )


def set_closed(user: User, conversation: Conversation, closed: bool) -> Conversation:
    policy.require(user, "conversation.close", conversation)
    if closed and conversation.closed_at is None:
        conversation.closed_at = now()
        conversation.closed_by_id = user.id
    elif not closed:
        conversation.closed_at = None
        conversation.closed_by_id = None
    else:
        return conversation
    if conversation.patient_id is not None:
        audit.record(user, conversation.patient_id, "write", "conversation", conversation.id)
    db.session.commit()
    socketio.emit(
        "closed",
        {"conversation_id": conversation.id, "closed": closed},
        to=conversation_room(conversation.id),
        namespace=NAMESPACE,
    )
    return conversation


# ---- Messages --------------------------------------------------------------------------


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
    try:
        message = _insert_message(
            conversation_id=conversation.id,
            author_id=author.id,
            on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
            client_id=client_id,
            body_sealed=crypto.seal(body, Message.body_aad(client_id)),
            created_at=at,
        )
    except IntegrityError:
        # A retry, or another request with the same client id that won the race.
        db.session.rollback()
        existing = _by_client_id(client_id)
        if existing is None:
            raise
        return _same_sender(existing, author, conversation), False
    _record_sent(conversation, conversation.member(author), message.id, at)
    if patient is not None:
        audit.record(author, patient, "write", "message", message.id, on_behalf_of=on_behalf_of)
    commit_keeping_loaded()
    _deliver(conversation, message, skip_sid=from_sid)
    return message, True


# The hot path of every message writes with plain statements: the ORM's unit of work (change
# tracking, ordering of dependent rows) cost more than the database itself here, for three
# rows whose shape is always the same. The objects already loaded are brought up to date
# as if they had been read back, so the fragment and the acknowledgement see the new state.


_messages = Message.__table__
_conversations = Conversation.__table__
_members = ConversationMember.__table__
_INSERT_MESSAGE = insert(_messages)
_SET_LAST_MESSAGE = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation"))
    .values(last_message_id=bindparam("message"), last_activity_at=bindparam("at"))
)
_SET_OWN_MARKS = (
    update(_members)
    .where(_members.c.id == bindparam("member"))
    .values(last_read_id=bindparam("message"), last_delivered_id=bindparam("message"))
)


def _insert_message(**values) -> Message:
    """INSERT one message and return it as a persistent object of the session, no SELECT."""
    result = db.session.connection().execute(_INSERT_MESSAGE, values)
    message = Message(id=result.inserted_primary_key[0], **values)
    make_transient_to_detached(message)
    db.session.add(message)
    return message


def _record_sent(conversation: Conversation, mine, message_id: int, at: datetime) -> None:
    """The conversation's last message, and the author's own marks (they have read what they
    wrote)."""
    connection = db.session.connection()  # plain statements: no ORM layer to go through
    connection.execute(
        _SET_LAST_MESSAGE, {"conversation": conversation.id, "message": message_id, "at": at}
    )
    set_committed_value(conversation, "last_message_id", message_id)
    set_committed_value(conversation, "last_activity_at", at)
    if mine is not None:
        connection.execute(_SET_OWN_MARKS, {"member": mine.id, "message": message_id})
        set_committed_value(mine, "last_read_id", message_id)
        set_committed_value(mine, "last_delivered_id", message_id)


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
    presence = _presence()
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
        # Their accounts are not loaded by a socket event (see _for_event): one query.
        users = db.session.scalars(select(User).where(User.id.in_(offline))).all()
        notify_offline(users, conversation, message)


def notify_offline(users: list[User], conversation: Conversation, message: Message):
    """Push "New secure message" (never the text) to members with no live connection.

    Each payload is built here, in its recipient's language and with the sender's name only
    for those who chose to see details; the sending runs in a background task with its own
    app context, so a slow push service never delays the reply. Returns that task (None when
    nobody is to be notified)."""
    from flask_babel import lazy_gettext

    from ..push import services as push

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
    from ..push import services as push

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
    others = [m for m in conversation.members if m.user_id != message.author_id]
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


def commit_keeping_loaded() -> None:
    """Commit without expiring what this request already loaded: the page about to render
    would otherwise reload every message and member one query at a time."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def mark(user: User, conversation: Conversation, up_to_id, kind: str) -> int | None:
    """Move the user's delivered/read mark forward (never back). Returns the new mark."""
    policy.require(user, "conversation.read", conversation)
    up_to = parse_optional_id(up_to_id)
    if up_to is None or conversation.last_message_id is None:
        return None
    up_to = min(up_to, conversation.last_message_id)
    column = (
        ConversationMember.last_read_id if kind == "read" else ConversationMember.last_delivered_id
    )
    where = (
        ConversationMember.conversation_id == conversation.id,
        ConversationMember.user_id == user.id,
        column < up_to,
    )
    changes = {column.key: up_to}
    result = db.session.execute(update(ConversationMember).where(*where).values(**changes))
    if kind == "read":
        # Reading implies delivery.
        db.session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation.id,
                ConversationMember.user_id == user.id,
                ConversationMember.last_delivered_id < up_to,
            )
            .values(last_delivered_id=up_to)
        )
    commit_keeping_loaded()
    if result.rowcount:
        socketio.emit(
            "receipt",
            {
                "conversation_id": conversation.id,
                "user_id": user.id,
                "name": user.display_name,
                "kind": kind,
                "up_to": up_to,
            },
            to=conversation_room(conversation.id),
            namespace=NAMESPACE,
        )
        if kind == "read":
            socketio.emit("unread_changed", {}, to=user_room(user.id), namespace=NAMESPACE)
        return up_to
    return None


# ---- The conversation list -------------------------------------------------------------


@dataclass
class Row:
    conversation: Conversation
    unread: int
    last_message: Message | None
    others: list[User]

    @property
    def preview(self) -> str:
        if self.last_message is None:
            return ""
        text = " ".join(self.last_message.body.split())
        return text if len(text) <= 90 else text[:89] + "…"


def _unread_column(user_id: int):
    return (
        select(func.count(Message.id))
        .where(
            Message.conversation_id == ConversationMember.conversation_id,
            Message.id > ConversationMember.last_read_id,
            or_(Message.author_id.is_(None), Message.author_id != user_id),
        )
        .correlate(ConversationMember)
        .scalar_subquery()
    )


def conversation_list(
    user: User, *, unread_only: bool = False, search: str | None = None, limit: int = 200
) -> list[Row]:
    unread = _unread_column(user.id).label("unread")
    query = (
        select(Conversation, unread)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user.id)
        .options(
            selectinload(Conversation.members).selectinload(ConversationMember.user),
            selectinload(Conversation.patient),
        )
        .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
    )
    search = (search or "").strip()[:80]
    if search:
        other = db.aliased(ConversationMember)
        person = db.aliased(User)
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = (
            select(other.conversation_id)
            .join(person, person.id == other.user_id)
            .where(
                other.user_id != user.id,
                func.lower(person.display_name).like(pattern.lower(), escape="\\"),
            )
        )
        query = query.where(Conversation.id.in_(matching))
    if unread_only:
        query = query.where(unread > 0)
    rows = [
        (c, n)
        for c, n in db.session.execute(query.limit(limit))
        if policy.can(user, "conversation.read", c)
    ]
    last_ids = [c.last_message_id for c, _n in rows if c.last_message_id]
    last = (
        {m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(last_ids)))}
        if last_ids
        else {}
    )
    return [
        Row(c, n, last.get(c.last_message_id), [m.user for m in c.members if m.user_id != user.id])
        for c, n in rows
    ]


def unread_total(user: User) -> int:
    unread = _unread_column(user.id).label("unread")
    rows = db.session.execute(
        select(ConversationMember.conversation_id, unread).where(
            ConversationMember.user_id == user.id
        )
    ).all()
    pending = {cid: n for cid, n in rows if n}
    if not pending:
        return 0
    conversations = db.session.scalars(select(Conversation).where(Conversation.id.in_(pending)))
    return sum(pending[c.id] for c in conversations if policy.can(user, "conversation.read", c))


def readable_conversation_ids(user: User) -> list[int]:
    conversations = db.session.scalars(
        select(Conversation)
        .join(ConversationMember)
        .where(ConversationMember.user_id == user.id)
        .options(selectinload(Conversation.members))
    ).all()
    return [c.id for c in conversations if policy.can(user, "conversation.read", c)]


# ---- Access changes: pull sockets out of rooms at once ---------------------------------


def withdraw_access(patient_id: int, grantee_id: int) -> list[int]:
    """After a grant changed: the grantee's sockets leave the rooms they may no longer read.

    Socket ids come from presence (every process); python-socketio's Redis manager sends a
    leave_room for a socket of another process through the queue, and that process drops it.
    """
    grantee = db.session.get(User, grantee_id)
    conversations = db.session.scalars(
        select(Conversation)
        .join(ConversationMember)
        .where(
            ConversationMember.user_id == grantee_id,
            or_(
                Conversation.patient_id == patient_id,
                Conversation.kind == ConversationKind.PROFESSIONAL,
            ),
        )
    ).all()
    lost = [
        c.id
        for c in conversations
        if grantee is None or not policy.can(grantee, "conversation.read", c)
    ]
    if not lost:
        return []
    sockets = _presence().sockets(grantee_id)
    current = variant_of(grantee) if grantee is not None else ""
    for sid, variant in sockets.items():
        for conversation_id in lost:
            rooms = {conversation_room(conversation_id)}
            rooms |= {variant_room(conversation_id, v) for v in {variant, current} if v}
            for room in rooms:
                try:
                    socketio.server.leave_room(sid, room, namespace=NAMESPACE)
                except Exception:  # noqa: BLE001 - the socket may have just gone
                    log.debug("leave_room failed for %s", sid, exc_info=True)
    socketio.emit(
        "access_lost", {"conversation_ids": lost}, to=user_room(grantee_id), namespace=NAMESPACE
    )
    return lost


# ---- Quick replies (professionals) -----------------------------------------------------


def quick_replies(user: User) -> list[QuickReply]:
    if not policy.can(user, "chat.quick_replies", None):
        return []
    return list(
        db.session.scalars(
            select(QuickReply).where(QuickReply.owner_id == user.id).order_by(QuickReply.id)
        )
    )


def add_quick_reply(user: User, text) -> QuickReply:
    policy.require(user, "chat.quick_replies", None)
    text = clean_text(
        text,
        limit=MAX_QUICK_REPLY,
        empty_message=_l("Write the text of the quick reply."),
        long_message=_l("A quick reply can have at most %(n)d characters.", n=MAX_QUICK_REPLY),
    )
    count = db.session.scalar(
        select(func.count(QuickReply.id)).where(QuickReply.owner_id == user.id)
    )
    if count >= MAX_QUICK_REPLIES:
        raise UserError(_("You can keep at most %(n)d quick replies.", n=MAX_QUICK_REPLIES))
    at = now()
    reply = QuickReply(
        owner_id=user.id,
        created_at=at,
        text_sealed=crypto.seal(text, QuickReply.text_aad(user.id, at)),
    )
    db.session.add(reply)
    db.session.commit()
    return reply


def delete_quick_reply(user: User, reply_id) -> None:
    policy.require(user, "chat.quick_replies", None)
    reply = db.session.get(QuickReply, parse_id(reply_id))
    if reply is None or reply.owner_id != user.id:
        raise NotFound(_("This quick reply does not exist."))
    db.session.delete(reply)
    db.session.commit()
