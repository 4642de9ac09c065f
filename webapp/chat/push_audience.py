"""Who counts on the chat's notifications: a member of a conversation still open to replies
(a new message there is pushed to them when they are away). Push's banner warns them when no
device of theirs receives notifications (webapp/push/audience.py)."""

from __future__ import annotations

from sqlalchemy import exists

from ..push.audience import counts_on_notifications
from .models import Conversation, ConversationMember


@counts_on_notifications
def in_an_open_conversation(user_id: int):
    return exists().where(
        ConversationMember.user_id == user_id,
        ConversationMember.conversation_id == Conversation.id,
        Conversation.closed_at.is_(None),
    )
