"""What a socket event loads: a conversation as plain values, not as mapped rows.

Every socket event (a message sent, "delivered", "read", "typing") starts by loading its
conversation and its members for policy, and the account of the one who sent it. Built as
mapped objects, that was the costliest step of the events after the database itself (the ORM
builds its row processors on every execution: 0.28 of a send's 1.9 ms, see bench/HISTORY.md).
Here ONE statement brings:

- the sender's account and the care conversation's patient, made mapped `User` rows of the
  session as if the ORM had loaded them (`rows.loaded_row`): Flask-Login then finds the sender
  in the session instead of querying again, and policy, the access history and the fragment
  get the accounts they always get. The statement itself is a Core one: the ORM's loading
  machinery, run between two events with cold processor caches, cost a quarter of the read
  (rows.py);
- the conversation and its members as plain columns, kept in a `ConversationSnapshot`. It
  answers what policy and the services read of a conversation (`MembershipRules`, shared with
  the mapped `Conversation`), and the writes bring it up to date like a loaded row
  (`keep_stored`);
- in a care conversation, the scopes of the sender's grant from the patient, kept where
  policy's question finds them (`circle.with_scopes`, `circle.remember_scopes`): a relative's
  or a professional's event costs one statement, not two.

Routes and the replay (`sync`) keep loading mapped conversations (get_conversation).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from ...accounts.models import User
from ...extensions import db
from ...rows import columns_of, loaded_row
from ..models import Conversation, ConversationMember, MembershipRules

_conversations = Conversation.__table__
_members = ConversationMember.__table__


class MemberSnapshot:
    __slots__ = ("id", "user_id", "joined_at", "last_delivered_id", "last_read_id")

    def __init__(self, id, user_id, joined_at, last_delivered_id, last_read_id):
        self.id = id
        self.user_id = user_id
        self.joined_at = joined_at
        self.last_delivered_id = last_delivered_id
        self.last_read_id = last_read_id

    @property
    def user(self) -> User | None:
        # Rarely needed by an event (a reader's name, a socket with no known language): read
        # when asked, from the session's identity map when already loaded.
        return db.session.get(User, self.user_id)


class ConversationSnapshot(MembershipRules):
    __slots__ = ("id", "kind", "patient_id", "patient", "closed_at", "last_message_id",
                 "members")

    def __init__(self, id, kind, patient_id, patient, closed_at, last_message_id,
                 members):
        self.id = id
        self.kind = kind
        self.patient_id = patient_id
        self.patient = patient
        self.closed_at: datetime | None = closed_at
        self.last_message_id = last_message_id
        self.members: list[MemberSnapshot] = members

    def __repr__(self) -> str:
        return f"<ConversationSnapshot {self.id} {self.kind}>"


def keep_stored(loaded, **values) -> None:
    """A loaded conversation or member (mapped or snapshot) now says what was just written,
    as if read back, without marking anything to be written again."""
    if isinstance(loaded, db.Model):
        for name, value in values.items():
            set_committed_value(loaded, name, value)
    else:
        for name, value in values.items():
            setattr(loaded, name, value)


@cache
def _statement():
    from ...circle import services as circle

    users = User.__table__
    patients = users.alias("patient")
    c, m = _conversations.c, _members.c
    statement = (
        select(*columns_of(User), *(patients.c[column.key] for column in columns_of(User)),
               c.id, c.kind, c.patient_id, c.closed_at, c.last_message_id,
               m.id, m.user_id, m.joined_at, m.last_delivered_id, m.last_read_id)
        .select_from(_conversations)
        .join(users, users.c.id == bindparam("user"))
        .outerjoin(patients, patients.c.id == c.patient_id)
        .outerjoin(_members, m.conversation_id == c.id)
        .where(c.id == bindparam("conversation"))
        .order_by(m.id)
    )
    # And the sender's grant from the patient, which policy asks next.
    return circle.with_scopes(statement, c.patient_id, bindparam("user"), bindparam("at"))


def load(conversation_id: int, user_id: int) -> tuple[ConversationSnapshot | None, User | None]:
    """(the conversation, the account `user_id`), both None when either does not exist. Asks
    nothing: policy decides afterwards, and finds the scopes of the account's grant from the
    patient already read. Hold the account until the user loader has run (the session's
    identity map keeps only weak references)."""
    from ...circle import services as circle

    session = db.session()
    if session.autoflush:
        session.flush()  # as the ORM's execute would first (nothing to do when nothing is unsaved)
    rows = session.connection().execute(
        _statement(), {"conversation": conversation_id, "user": user_id, "at": circle.now()})
    rows = rows.all()
    if not rows:
        return None, None
    first, n = rows[0], len(columns_of(User))  # n: the columns of one account in a row
    cid, kind, patient_id, closed_at, last_message_id = first[2 * n:2 * n + 5]
    sender = loaded_row(User, first[:n])
    patient = loaded_row(User, first[n:2 * n]) if patient_id is not None else None
    members = [MemberSnapshot(*row[2 * n + 5:2 * n + 10]) for row in rows
               if row[2 * n + 5] is not None]
    if patient_id is not None:
        circle.remember_scopes(patient_id, user_id, *first[2 * n + 10:])
    return ConversationSnapshot(cid, kind, patient_id, patient, closed_at, last_message_id,
                                members), sender


def prepare() -> None:
    """Compile the statement (ids no row has, so it reads nothing): see warmup."""
    load(0, 0)
