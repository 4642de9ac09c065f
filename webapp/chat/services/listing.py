"""The conversation list: last activity first, unread counts, the members who can no longer
read a conversation, the unread total of the tab bar."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ... import policy
from ...accounts.models import User
from ...extensions import db
from ..models import Conversation, ConversationKind, ConversationMember, Message
from .common import now


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
    grants = _grants_in_force([c for c, _n in rows], user)
    result = []
    for c, n in rows:
        others = [m.user for m in c.members if m.user_id != user.id]
        lost = [
            u for u in others
            if not policy.conversation_read_given(u, c, grants.get((c.patient_id, u.id)))
        ]
        result.append(Row(c, n, last.get(c.last_message_id), others, lost))
    return result


def _grants_in_force(conversations: list[Conversation], user: User) -> dict:
    """{(patient id, member id): grant} for the grants in force between the patients of these
    care conversations and their other members: circle.services.active_grant's answer for all
    of them in ONE query (an active_grant call costs two, and the list has dozens of
    conversations of a few members each). Policy decides from them
    (policy.conversation_read_given)."""
    from ...circle.models import Block, Grant

    pairs = {
        (c.patient_id, m.user_id)
        for c in conversations
        if c.kind == ConversationKind.CARE and c.patient_id is not None
        for m in c.members
        if m.user_id not in (user.id, c.patient_id)
    }
    if not pairs:
        return {}
    at = now()
    found = db.session.execute(
        select(Grant, Block.id)
        .outerjoin(
            Block,
            and_(Block.patient_id == Grant.patient_id, Block.professional_id == Grant.grantee_id),
        )
        .where(
            Grant.patient_id.in_({p for p, _g in pairs}),
            Grant.grantee_id.in_({g for _p, g in pairs}),
        )
    ).all()
    return {
        (grant.patient_id, grant.grantee_id): grant
        for grant, blocked in found
        if blocked is None
        and grant.is_active(at)
        and (grant.patient_id, grant.grantee_id) in pairs
    }


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
