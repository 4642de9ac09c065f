"""The access history a patient can read. Append-only: this module has no update or delete.

`record(actor, patient, action, object_type, object_id=None, on_behalf_of=None)` adds one row
to the current transaction; the caller commits (with the change it records, so a rolled-back
action leaves no history and a committed one always does). Call it exactly once per access
whenever someone other than the patient reads or writes the patient's data. Calling it for
the patient's own writes is welcome too: they fill the patient's "My actions" tab. The
patient's own reads are not history and are skipped.

    from webapp import audit
    audit.record(current_user, patient, "read", "conversation", conversation.id)
    audit.record(relative, patient, "write", "message", message.id, on_behalf_of=patient)

`action` is a short verb ("read", "write", "delete", "grant", ...); `object_type` names the
object ("message", "conversation", "appointment", "document", "summary", "grant", ...). Its
kind of data (the filter on the Activity page) is derived from it, see KINDS.

The Activity page reads `entries()`: every row, with a run of the same read repeated by the
same person within a few minutes shown as one line and a count (nothing is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, event, func, or_, tuple_
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from .accounts.models import User
from .extensions import db
from .rows import insert_row

# object_type -> kind of data shown on the Activity page (the scope it belongs to).
KINDS = {
    "message": "messages", "messages": "messages", "conversation": "messages",
    "attachment": "messages", "receipt": "messages",
    "appointment": "agenda", "agenda": "agenda", "reminder": "agenda", "medication": "agenda",
    "event": "agenda", "ics": "agenda",
    "document": "documents", "documents": "documents",
    "summary": "summary",
    "grant": "circle", "invitation": "circle", "block": "circle", "request": "circle",
    "emergency": "circle", "circle": "circle", "settings": "circle",
    "export": "space", "space": "space",
}
KIND_ORDER = ("messages", "agenda", "documents", "summary", "circle", "space", "other")


def kind_of(object_type: str) -> str:
    base = (object_type or "").split(".")[0].lower()
    return KINDS.get(base, "other")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class AccessEvent(db.Model):
    """One access to a patient's data. Rows are only ever inserted."""

    __tablename__ = "access_events"
    # The Activity page pages by (at, id) within one patient's rows.
    __table_args__ = (Index("ix_access_events_patient_at", "patient_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Kept as text so the history still reads right if the account is renamed or removed.
    actor_name: Mapped[str] = mapped_column(String(120))
    # What the actor acted as: patient, relative, professional, emergency, admin.
    acting_as: Mapped[str] = mapped_column(String(20))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    device: Mapped[str] = mapped_column(String(10))
    emergency: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])

    @property
    def by_patient(self) -> bool:
        return self.actor_id == self.patient_id


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AccessEvent, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guarded by a test
    raise AppendOnlyError("the access history is append-only")


@event.listens_for(AccessEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guarded by a test
    raise AppendOnlyError("the access history is append-only")


def device_kind(user_agent: str | None) -> str:
    """mobile / tablet / desktop / server (no request) from the User-Agent header."""
    if user_agent is None:
        return "server"
    ua = user_agent.lower()
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "mobi" in ua or "iphone" in ua or "android" in ua:
        return "mobile"
    if not ua.strip():
        return "unknown"
    return "desktop"


def _current_user_agent() -> str | None:
    from flask import has_request_context, request

    if not has_request_context():
        return None
    return request.headers.get("User-Agent", "")


def _id(value) -> int | None:
    if value is None:
        return None
    return value if isinstance(value, int) else value.id


def acting_as(actor: User, patient_id: int, emergency: bool) -> str:
    if actor.id == patient_id:
        return "patient"
    if emergency:
        return "emergency"
    return actor.role


def record(actor: User, patient, action: str, object_type: str, object_id=None,
           on_behalf_of=None, *, emergency: bool | None = None) -> AccessEvent | None:
    """Add one history row to the current transaction (the caller commits). Written at once
    with a plain INSERT (webapp/rows.py): every message of a care conversation records one.

    `patient` is a User or a user id. Returns the row, or None for the patient's own reads.
    `emergency` defaults to "the actor reaches this patient only through emergency access".
    """
    values = entry(actor, patient, action, object_type, object_id, on_behalf_of,
                   emergency=emergency)
    return None if values is None else insert_row(AccessEvent, **values)


# What entry() returns: every column of a row but its id and the server's created_at.
ENTRY_COLUMNS = ("at", "patient_id", "actor_id", "actor_name", "acting_as", "on_behalf_of_id",
                 "action", "object_type", "object_id", "kind", "device", "emergency")


def entry(actor: User, patient, action: str, object_type: str, object_id=None,
          on_behalf_of=None, *, emergency: bool | None = None) -> dict | None:
    """The columns of the row record() writes (None: the patient's own read, not history),
    for a caller that writes it with other rows in one statement: a message and its line on
    PostgreSQL (webapp/chat/services/writes.py), which sets `object_id` to the new id."""
    patient_id = _id(patient)
    if actor.id == patient_id and action == "read":
        return None
    if emergency is None:
        emergency = actor.id != patient_id and _through_emergency(actor, patient_id)
    return dict(
        at=_now(),
        patient_id=patient_id,
        actor_id=actor.id,
        actor_name=actor.display_name,
        acting_as=acting_as(actor, patient_id, emergency),
        on_behalf_of_id=_id(on_behalf_of),
        action=action[:30],
        object_type=object_type[:40],
        object_id=None if object_id is None else str(object_id)[:64],
        kind=kind_of(object_type),
        device=device_kind(_current_user_agent()),
        emergency=bool(emergency),
    )


def _through_emergency(actor: User, patient_id: int) -> bool:
    if not actor.is_professional:
        return False
    from .circle import services as circle

    return circle.active_scopes(patient_id, actor.id) is None and \
        circle.active_emergency(patient_id, actor.id) is not None


# ---- Reading the history (the patient's Activity page) ----------------------------------

@dataclass
class Filters:
    person: int | None = None      # actor id
    kind: str | None = None        # one of KIND_ORDER
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive


PAGE_SIZE = 20


def history(patient_id: int, *, mine: bool, filters: Filters | None = None,
            before: tuple[datetime, int] | None = None, limit: int = PAGE_SIZE
            ) -> list[AccessEvent]:
    """Newest first. Keyset paging: `before` is the (at, id) of the last row already shown."""
    filters = filters or Filters()
    q = db.select(AccessEvent).where(AccessEvent.patient_id == patient_id)
    if mine:
        q = q.where(AccessEvent.actor_id == patient_id)
    else:
        q = q.where(or_(AccessEvent.actor_id.is_(None), AccessEvent.actor_id != patient_id))
        if filters.person:
            q = q.where(AccessEvent.actor_id == filters.person)
    if filters.kind:
        q = q.where(AccessEvent.kind == filters.kind)
    if filters.since:
        q = q.where(AccessEvent.at >= filters.since)
    if filters.until:
        q = q.where(AccessEvent.at < filters.until)
    if before:
        at, row_id = before
        # A row-value comparison lets SQLite and PostgreSQL seek the (patient_id, at, id) index.
        q = q.where(tuple_(AccessEvent.at, AccessEvent.id) < tuple_(at, row_id))
    q = q.order_by(AccessEvent.at.desc(), AccessEvent.id.desc()).limit(limit)
    return list(db.session.scalars(q))


def all_of(patient_id: int, page: int = 200):
    """Every row of a patient's history, oldest first, read page by page (keyset on the
    (patient_id, at, id) index): for the patient's export, which must not hold it whole."""
    after: tuple[datetime, int] | None = None
    while True:
        q = (db.select(AccessEvent).where(AccessEvent.patient_id == patient_id)
             .options(selectinload(AccessEvent.on_behalf_of)))
        if after:
            q = q.where(tuple_(AccessEvent.at, AccessEvent.id) > tuple_(*after))
        rows = list(db.session.scalars(q.order_by(AccessEvent.at, AccessEvent.id).limit(page)))
        yield from rows
        if len(rows) < page:
            return
        after = (rows[-1].at, rows[-1].id)  # rows written out are let go (weak identity map)


def where_deleted(patient_ids, object_type: str, object_id) -> int | None:
    """The patient, among `patient_ids`, whose history records `object_type` `object_id` as
    deleted (ids are never given again, so such a row names that very item); None if none."""
    return db.session.scalar(
        db.select(AccessEvent.patient_id).where(
            AccessEvent.patient_id.in_(patient_ids), AccessEvent.action == "delete",
            AccessEvent.object_type == object_type, AccessEvent.object_id == str(object_id))
        .limit(1))


def first_rows(patient_id: int, action: str, object_type: str, object_ids) -> dict[str, int]:
    """For each of `object_ids`, the id of the first row of `patient_id`'s history recording
    `action` on that `object_type` (e.g. the write that started a conversation)."""
    query = (db.select(AccessEvent.object_id, func.min(AccessEvent.id))
             .where(AccessEvent.patient_id == patient_id, AccessEvent.action == action,
                    AccessEvent.object_type == object_type,
                    AccessEvent.object_id.in_([str(i) for i in object_ids]))
             .group_by(AccessEvent.object_id))
    return {object_id: row_id for object_id, row_id in db.session.execute(query)}


# Browsing re-reads the same thing many times a minute (each agenda day, each poll of a
# conversation). Every read stays recorded; the page shows a run of them as one line.
REPEAT_WINDOW = timedelta(minutes=10)


def _read_key(row: AccessEvent) -> tuple | None:
    """What makes two reads "the same read again"; None for anything that is not a read."""
    if row.action != "read" or row.actor_id is None:
        return None
    return (row.actor_id, row.acting_as, row.object_type, row.object_id, row.on_behalf_of_id,
            row.emergency, row.device)


class Entry:
    """One line of the Activity page: a row, or a run of the same read by the same person
    within REPEAT_WINDOW. `row` is the newest, `oldest` the run's first read."""

    def __init__(self, row: AccessEvent):
        self.row = self.oldest = row
        self.count = 1

    def absorbs(self, older: AccessEvent) -> bool:
        key = _read_key(self.row)
        return key is not None and key == _read_key(older) and \
            self.row.at - older.at <= REPEAT_WINDOW

    def add(self, older: AccessEvent) -> None:
        self.oldest = older
        self.count += 1


def entries(patient_id: int, *, mine: bool, filters: Filters | None = None,
            before: tuple[datetime, int] | None = None, limit: int = PAGE_SIZE
            ) -> tuple[list[Entry], tuple[datetime, int] | None]:
    """One page of the Activity page's lines, newest first, and the cursor of the next page
    (None when this is the last). Only consecutive identical reads are folded, so the lines
    keep the order things happened in; writes are never folded. A run never spans two pages:
    the cursor is the (at, id) of the oldest row of the page's last line."""
    batch_size = max(limit * 5, 100)
    lines: list[Entry] = []
    cursor = before
    while True:
        rows = history(patient_id, mine=mine, filters=filters, before=cursor, limit=batch_size)
        for row in rows:
            if lines and lines[-1].absorbs(row):
                lines[-1].add(row)
            elif len(lines) == limit:
                last = lines[-1].oldest
                return lines, (last.at, last.id)
            else:
                lines.append(Entry(row))
        if len(rows) < batch_size:
            return lines, None
        cursor = (rows[-1].at, rows[-1].id)


def people_in_history(patient_id: int) -> list[tuple[int, str]]:
    """(actor id, name) of everyone other than the patient who appears in the history."""
    q = (db.select(AccessEvent.actor_id, func.max(AccessEvent.actor_name))
         .where(AccessEvent.patient_id == patient_id, AccessEvent.actor_id.is_not(None),
                AccessEvent.actor_id != patient_id)
         .group_by(AccessEvent.actor_id))
    return sorted(((row[0], row[1]) for row in db.session.execute(q)), key=lambda r: r[1].lower())
