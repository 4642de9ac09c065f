"""How a sent message is written: the message itself, the conversation's last message, the
author's own marks (they have read what they wrote) and, in a care conversation, the line of
the patient's access history.

Plain statements, not the ORM's unit of work: its change tracking and ordering of dependent
rows cost more than the database itself here, for rows whose shape is always the same. The
objects already loaded are brought up to date as if they had been read back, so the fragment
and the acknowledgement see the new state.

On PostgreSQL the writes are ONE statement (a data-modifying WITH): every round trip to the
server is a wait, and under the gevent worker a place at the back of the queue of greenlets
ready to run (bench/HISTORY.md). SQLite has no such statement and no round trip: its
statements are calls inside the process.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import String, bindparam, cast, insert, select, update

from ...audit import ENTRY_COLUMNS, AccessEvent
from ...extensions import db
from ...rows import insert_row
from ..models import Conversation, ConversationMember, Message
from .snapshot import keep_stored

_conversations = Conversation.__table__
_members = ConversationMember.__table__
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
_COLUMNS = ("conversation_id", "author_id", "on_behalf_of_id", "client_id", "body_sealed",
            "created_at")


@cache
def _in_one_statement(with_history: bool):
    """INSERT the message and, with its new id, UPDATE the conversation and the author's
    member row (and INSERT the history line); returns the id. The parameters are named apart
    from every column: executed with a parameter named like one of its columns, a statement
    would also SET it."""
    messages = Message.__table__
    new = (insert(messages).values({name: bindparam(f"new_{name}") for name in _COLUMNS})
           .returning(messages.c.id).cte("new_message"))
    new_id = select(new.c.id).scalar_subquery()
    last = (update(_conversations)
            .where(_conversations.c.id == bindparam("new_conversation_id"))
            .values(last_message_id=new_id, last_activity_at=bindparam("new_created_at"))
            .returning(_conversations.c.id).cte("last_message"))
    own = (update(_members)
           .where(_members.c.id == bindparam("member"))
           .values(last_read_id=new_id, last_delivered_id=new_id)
           .returning(_members.c.id).cte("own_marks"))
    statement = select(new.c.id).add_cte(last).add_cte(own)
    if with_history:
        events = AccessEvent.__table__
        values = {name: bindparam(f"history_{name}", type_=events.c[name].type)
                  for name in ENTRY_COLUMNS if name != "object_id"}
        line = (insert(events).values(**values, object_id=cast(new_id, String))
                .returning(events.c.id).cte("history_line"))
        statement = statement.add_cte(line)
    return statement


def store(conversation, mine, history: dict | None = None, **values) -> Message:
    """Write a message of `conversation` (mapped or snapshot) and what it moves; `mine`: the
    author's membership (None: not a member, no marks to move); `history`: the access
    history's line (audit.entry), its object the new message. Part of the current
    transaction: the caller commits. A client id already stored raises IntegrityError."""
    connection = db.session.connection()
    if mine is not None and connection.dialect.name == "postgresql":
        parameters = {f"new_{name}": value for name, value in values.items()}
        if history is not None:
            parameters |= {f"history_{name}": value for name, value in history.items()
                           if name != "object_id"}
        message = insert_row(Message, through=_in_one_statement(history is not None),
                             parameters={**parameters, "member": mine.id}, **values)
    else:
        message = insert_row(Message, **values)
        connection.execute(_SET_LAST_MESSAGE, {"conversation": conversation.id,
                                               "message": message.id,
                                               "at": values["created_at"]})
        if mine is not None:
            connection.execute(_SET_OWN_MARKS, {"member": mine.id, "message": message.id})
        if history is not None:
            insert_row(AccessEvent, **{**history, "object_id": str(message.id)})
    keep_stored(conversation, last_message_id=message.id, last_activity_at=values["created_at"])
    if mine is not None:
        keep_stored(mine, last_read_id=message.id, last_delivered_id=message.id)
    return message
