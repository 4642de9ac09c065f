"""Rows written or read with plain statements, then kept in the session as the ORM would.

For the hot path of every message. Writing (the message, its access-history line): the ORM's
unit of work (change tracking, ordering dependent rows at flush) costs more than the database
itself for a single row whose shape is always the same. The row is part of the current
transaction like any other write: the caller commits, a rollback removes it.

Reading (the accounts a socket event reads with its conversation): the ORM's loading machinery
runs a great deal of code for two rows, and a worker that waits between events runs it with
cold processor caches, where every line of code touched costs: after a 10 ms pause the event's
read took 0.90–0.93 ms through the ORM and 0.62–0.71 ms as a Core statement with the accounts
built here (bench/HISTORY.md, eighteenth session).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import event, insert
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .extensions import db


@cache
def _insert(table):
    return insert(table)


def insert_row(model, *, through=None, parameters=None, **values):
    """INSERT one `model` row now (no SELECT) and return it as a persistent object of the
    session, its id set; columns left to the server (defaults) load when first read.

    `through`: a statement that inserts the row with `values` along with other writes and
    returns its id, run with `parameters`."""
    connection = db.session.connection()
    if through is None:
        row_id = connection.execute(_insert(model.__table__), values).inserted_primary_key[0]
    else:
        row_id = connection.execute(through, parameters).scalar_one()
    row = model(id=row_id, **values)
    make_transient_to_detached(row)
    db.session.add(row)
    db.session.info.setdefault(_INSERTED, []).append(row)
    return row


@cache
def columns_of(model) -> tuple:
    """The columns `model` maps, in the order loaded_row() takes their values."""
    return tuple(attribute.columns[0] for attribute in model.__mapper__.column_attrs)


@cache
def _layout(model) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attribute names of columns_of(model), and where its primary key is among them."""
    columns = columns_of(model)
    keys = tuple(attribute.key for attribute in model.__mapper__.column_attrs)
    primary = tuple(next(i for i, column in enumerate(columns) if column is key_column)
                    for key_column in model.__mapper__.primary_key)
    return keys, primary


def loaded_row(model, values):
    """The `model` row whose mapped columns hold `values` (in the order of columns_of(model),
    as a SELECT of those columns returned them), persistent in the session as if the ORM had
    loaded it: the session's own object when it has one (its unloaded or expired attributes
    filled in from `values`, as a load would), else a new one. Hold it while it is needed: the
    identity map keeps only weak references."""
    session = db.session()
    mapper = model.__mapper__
    keys, primary = _layout(model)
    row = session.identity_map.get(
        mapper.identity_key_from_primary_key([values[i] for i in primary]))
    if row is not None:
        for key, value in zip(keys, values, strict=True):
            if key not in row.__dict__:
                set_committed_value(row, key, value)
        return row
    row = mapper.class_manager.new_instance()
    row.__dict__.update(zip(keys, values, strict=True))
    make_transient_to_detached(row)
    session.add(row)
    return row


# Added as already persistent, the row is not one of the transaction's new objects, which a
# rollback takes out of the session: without this it would stay there, expired, standing for
# a row that no longer exists (and SQLite hands its id out again). The app uses no savepoints;
# the rollback of one would take out every row of the transaction, those still stored too.
_INSERTED = "rows.inserted"  # session.info: rows insert_row wrote in the open transaction


@event.listens_for(Session, "after_commit")
def _kept(session) -> None:
    session.info.pop(_INSERTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _undone(session, _previous_transaction) -> None:
    for row in session.info.pop(_INSERTED, ()):
        if row in session:
            session.expunge(row)
