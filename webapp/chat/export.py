"""Messages in the patient's export: every conversation they are a member of, its messages
opened for them (the export is the one place bodies leave the database unsealed, to their
owner), one conversation at a time, each read in pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.export import export_section
from ..extensions import db
from . import services
from .models import Conversation, ConversationMember

PAGE = 200


def _messages(patient, conversation):
    """Page after page through the replay's own query (policy asked, keyset on the id)."""
    after = None
    while True:
        rows, more = services.messages_after(patient, conversation, after, limit=PAGE)
        for m in rows:
            yield {
                "at": m.created_at,
                "author": m.author.display_name if m.author else None,
                "written_for": m.on_behalf_of.display_name if m.on_behalf_of else None,
                "text": m.body,
            }
        if not more:
            return
        after = rows[-1].id


@export_section("conversations")
def conversations(patient):
    ids = db.session.scalars(
        select(ConversationMember.conversation_id)
        .where(ConversationMember.user_id == patient.id)
        .order_by(ConversationMember.conversation_id)
    ).all()
    for conversation_id in ids:
        conversation = db.session.get(
            Conversation, conversation_id,
            options=[selectinload(Conversation.members).selectinload(ConversationMember.user)],
        )
        yield {
            "subject": conversation.subject,
            "started_at": conversation.created_at,
            "closed_at": conversation.closed_at,
            "members": [m.user.display_name for m in conversation.members],
            "messages": _messages(patient, conversation),  # written as they are read
        }
