"""The conversation list: last activity first, unread counts, the members who can no longer
read a conversation, the unread total of the tab bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from flask import g
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import selectinload

from ... import policy
from ...accounts.models import User
from ...extensions import db
from ..models import Conversation, ConversationKind, ConversationMember, Message


@dataclass
class Row:
    conversation: Conversation
    unread: int
    last_message: Message | None
    others: list[User]
    # Other members who can no longer read it (grant revoked or ended, blocked, account
    # closed): the list marks them, as the conversation's header does.
    lost: list[User] = field(default_factory=list)

    @property
    def preview(self) -> str:
        if self.last_message is None:
            return ""
        text = " ".join(self.last_message.body.split())
        return text if len(text) <= 90 else text[:89] + "…"


def _unread_column(user_id):
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
    scopes = _scopes_in_force([c for c, _n in rows], user)
    result = []
    for c, n in rows:
        others = [m.user for m in c.members if m.user_id != user.id]
        lost = [
            u for u in others
            if not policy.conversation_read_given(u, c, scopes.get((c.patient_id, u.id)))
        ]
        result.append(Row(c, n, last.get(c.last_message_id), others, lost))
    return result


def _scopes_in_force(conversations: list[Conversation], user: User) -> dict:
    """{(patient id, member id): scopes} of the grants in force between the patients of these
    care conversations and their other members, in one query (the circle's
    active_scopes_for); policy decides from them (policy.conversation_read_given)."""
    from ...circle import services as circle

    return circle.active_scopes_for(
        (c.patient_id, m.user_id)
        for c in conversations
        if c.kind == ConversationKind.CARE and c.patient_id is not None
        for m in c.members
        if m.user_id not in (user.id, c.patient_id)
    )


@cache
def _unread_by_conversation():
    # Built once: every "read" a phone sends asks it, to give the reader their new total.
    return select(
        ConversationMember.conversation_id,
        _unread_column(bindparam("user")),
    ).where(ConversationMember.user_id == bindparam("user"))


def unread_total(user: User, *, readable=()) -> int:
    """Unread messages in the conversations this user may read now. `readable`: ids of
    conversations policy has just allowed them to read (in the same event): not asked again.
    The others with unread messages are checked together: their members, patients and this
    user's grants come in three queries, however many there are (a nurse has dozens).
    The answer is kept for the rest of the request (known_unread_total)."""
    total = _count_unread(user, readable)
    g.chat_unread_total = (user.id, total)
    return total


def known_unread_total(user: User) -> int:
    """The total this request last counted for `user` (a conversation page has just counted
    it when marking what it shows read), else counted now: for the tab bar's badge."""
    known = g.get("chat_unread_total")
    if known is not None and known[0] == user.id:
        return known[1]
    return unread_total(user)


def _count_unread(user: User, readable) -> int:
    rows = db.session.execute(_unread_by_conversation(), {"user": user.id}).all()
    pending = {cid: n for cid, n in rows if n}
    total = sum(n for cid, n in pending.items() if cid in readable)
    unsure = [cid for cid in pending if cid not in readable]
    if not unsure:
        return total
    conversations = db.session.scalars(
        select(Conversation)
        .where(Conversation.id.in_(unsure))
        .options(selectinload(Conversation.members), selectinload(Conversation.patient))
    ).all()
    scopes = _own_scopes(conversations, user)
    return total + sum(
        pending[c.id] for c in conversations
        if policy.conversation_read_given(user, c, scopes.get((c.patient_id, user.id)))
    )


def _own_scopes(conversations: list[Conversation], user: User) -> dict:
    """{(patient id, user id): scopes} in force for this user on the patients of these care
    conversations, in one query."""
    from ...circle import services as circle

    return circle.active_scopes_for(
        (c.patient_id, user.id)
        for c in conversations
        if c.kind == ConversationKind.CARE and c.patient_id not in (None, user.id)
    )
