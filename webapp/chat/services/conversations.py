"""Conversations: loading them for a request or a socket event, starting, closing; which ones a
person may read, and pulling sockets out of rooms when access is withdrawn.
"""

from __future__ import annotations

import logging
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ... import audit, crypto, policy, warmup
from ...accounts.models import User
from ...errors import Forbidden, NotFound, UserError
from ...extensions import db, socketio
from ..models import Conversation, ConversationKind, ConversationMember
from . import snapshot
from .common import (
    MAX_MEMBERS,
    MAX_SUBJECT,
    NAMESPACE,
    clean_text,
    conversation_room,
    live_presence,
    now,
    parse_id,
    screen_room,
    user_room,
    variant_of,
    variant_room,
)

log = logging.getLogger(__name__)


@cache
def _with_members():
    # Policy reads the members (membership) on every call, the fragment and the offline push
    # read their accounts: one joined query instead of three. Built once: every socket event
    # asks for it.
    return [joinedload(Conversation.members).joinedload(ConversationMember.user)]


def load_for_event(conversation_id, user_id: int | None):
    """What a socket event needs, in ONE query, before the signed-in user is loaded: the
    conversation as a snapshot and the account `user_id` (services/snapshot.py). Asks
    nothing; returns (snapshot, account), (None, None) for a bad id or no user id. Hold the
    account until event_conversation() has run."""
    try:
        conversation_id = parse_id(conversation_id)
    except UserError:
        return None, None
    if user_id is None:
        return None, None
    return snapshot.load(conversation_id, user_id)


def event_conversation(user, conversation_id, loaded, action: str = "conversation.read"):
    """get_conversation() for a socket event, answered from what load_for_event() brought."""
    conversation_id = parse_id(conversation_id)
    if loaded is None:
        # Not loaded ahead (a session that names no account, a conversation that does not
        # exist): asked now for the signed-in user.
        loaded, _held = snapshot.load(conversation_id, user.id)
    if loaded is None:
        raise NotFound(_("This conversation does not exist."))
    policy.require(user, action, loaded)
    return loaded


@warmup.step
def _prepare_socket_events() -> None:
    """Compiled before the worker serves (webapp/warmup): every socket event's first statement
    (ids no row has, so it reads nothing) and the message fragment they render."""
    snapshot.prepare()
    db.session.rollback()
    current_app.jinja_env.get_template("chat/_message.html")


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
    from ...circle.models import Grant

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
            "start",
            "conversation",
            conversation.id,
            on_behalf_of=patient if creator.is_relative else None,
        )
    db.session.commit()
    _after_start(conversation)
    return conversation


def _after_start(conversation: Conversation) -> None:
    _bring_in(conversation, [member.user for member in conversation.members])


def _bring_in(conversation: Conversation, people: list[User]) -> None:
    """These people's open pages join the conversation's rooms at once (no reconnect needed)
    and see it in their list."""
    presence = live_presence()
    room = conversation_room(conversation.id)
    for person in people:
        for sid, variant in presence.sockets(person.id).items():
            variant = variant or variant_of(person)
            for name in (room, variant_room(conversation.id, variant)):
                try:
                    socketio.server.enter_room(sid, name, namespace=NAMESPACE)
                except Exception:  # noqa: BLE001 - a socket that just left
                    log.debug("enter_room failed for %s", sid, exc_info=True)
        socketio.emit(
            "list_changed",
            {"conversation_id": conversation.id},
            to=user_room(person.id),
            namespace=NAMESPACE,
        )


def addable(actor: User, conversation: Conversation) -> list[User]:
    """People `actor` may add to `conversation` now: those who could be chosen when starting
    it, minus its members (policy decides, person by person)."""
    if not policy.can(actor, "conversation.add_members", conversation):
        return []
    patient = conversation.patient if conversation.patient_id is not None else None
    return [
        person
        for person in candidates(actor, patient)
        if policy.can(actor, "conversation.add_members", (conversation, person))
    ]


def add_members(actor: User, conversation: Conversation, member_ids) -> list[User]:
    """Add people to an ongoing conversation. They read its history (their scope allows it)
    but start with nothing unread: both their marks are set at its last message."""
    policy.require(actor, "conversation.add_members", conversation)
    if isinstance(member_ids, str | int):
        member_ids = [member_ids]
    wanted: set[int] = set()
    try:
        for raw in member_ids or []:
            wanted.add(parse_id(raw))
    except (UserError, TypeError) as exc:
        raise UserError(_("Choose people from the list."), field="members") from exc
    if not wanted:
        raise UserError(_("Choose at least one person to add."), field="members")
    people = db.session.scalars(
        select(User).where(User.id.in_(wanted)).order_by(User.display_name)
    ).all()
    if len(people) != len(wanted):
        raise UserError(_("Choose people from the list."), field="members")
    for person in people:
        if conversation.has_member(person):
            raise UserError(
                _("%(name)s is already in this conversation.", name=person.display_name),
                field="members",
            )
        if not policy.can(actor, "conversation.add_members", (conversation, person)):
            # Not named: the id may be anybody's, and this is no way to look people up.
            raise UserError(_("Choose people from the list."), field="members")
    if len(conversation.members) + len(people) > MAX_MEMBERS:
        raise UserError(
            _("A conversation can have at most %(n)d people.", n=MAX_MEMBERS), field="members"
        )
    at = now()
    seen = conversation.last_message_id or 0
    for person in people:
        conversation.members.append(
            ConversationMember(
                user_id=person.id, joined_at=at, last_delivered_id=seen, last_read_id=seen
            )
        )
    if conversation.patient_id is not None:
        audit.record(actor, conversation.patient_id, "add_members", "conversation",
                     conversation.id)
    try:
        db.session.commit()
    except IntegrityError as exc:
        # The same people added at the same moment by someone else (or a double submit).
        db.session.rollback()
        raise UserError(
            _("Someone else changed the members just now. Check the list and try again."),
            field="members",
        ) from exc
    _after_add(conversation, people)
    return list(people)


def _after_add(conversation: Conversation, people: list[User]) -> None:
    """The newcomers are brought in; the members see the new names in the header."""
    _bring_in(conversation, people)
    socketio.emit("members_changed", {"conversation_id": conversation.id},
                  to=conversation_room(conversation.id), namespace=NAMESPACE)


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
        audit.record(
            user,
            conversation.patient_id,
            "close" if closed else "reopen",
            "conversation",
            conversation.id,
        )
    db.session.commit()
    socketio.emit(
        "closed",
        {"conversation_id": conversation.id, "closed": closed},
        to=conversation_room(conversation.id),
        namespace=NAMESPACE,
    )
    return conversation


def readable_conversation_ids(user: User) -> list[int]:
    conversations = db.session.scalars(
        select(Conversation)
        .join(ConversationMember)
        .where(ConversationMember.user_id == user.id)
        .options(selectinload(Conversation.members))
    ).all()
    return [c.id for c in conversations if policy.can(user, "conversation.read", c)]


def members_without_access(conversation: Conversation) -> list[User]:
    """Members who can no longer read the conversation (their grant was revoked or ended, the
    professional was blocked, the account closed): the others must be told that what they
    write here will not reach them. Policy decides, member by member."""
    return [
        member.user
        for member in conversation.members
        if not policy.can(member.user, "conversation.read", conversation)
    ]


# ---- Access changes: pull sockets out of rooms at once ---------------------------------


def withdraw_access(patient_id: int, grantee_id: int) -> list[int]:
    """After a grant changed: the grantee's sockets leave the rooms they may no longer read,
    and the members still there are told the conversation's membership changed.

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
    sockets = live_presence().sockets(grantee_id)
    current = variant_of(grantee) if grantee is not None else ""
    for sid, variant in sockets.items():
        for conversation_id in lost:
            rooms = {conversation_room(conversation_id), screen_room(conversation_id)}
            rooms |= {variant_room(conversation_id, v) for v in {variant, current} if v}
            for room in rooms:
                try:
                    socketio.server.leave_room(sid, room, namespace=NAMESPACE)
                except Exception:  # noqa: BLE001 - the socket may have just gone
                    log.debug("leave_room failed for %s", sid, exc_info=True)
    socketio.emit(
        "access_lost", {"conversation_ids": lost}, to=user_room(grantee_id), namespace=NAMESPACE
    )
    # The members left in those rooms see the grantee marked as no longer having access.
    for conversation_id in lost:
        socketio.emit(
            "members_changed",
            {"conversation_id": conversation_id},
            to=conversation_room(conversation_id),
            namespace=NAMESPACE,
        )
    return lost
