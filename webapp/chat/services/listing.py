"""The conversation list: last activity first, unread counts, the unread total of the tab bar."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ... import policy
from ...accounts.models import User
from ...extensions import db
from ..models import Conversation, ConversationMember, Message


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
