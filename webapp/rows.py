"""One row written with a plain INSERT, then kept in the session as if it had been read back.

For the writes on the hot path of every message (the message, its access-history line): the
ORM's unit of work (change tracking, ordering dependent rows at flush) costs more than the
database itself for a single row whose shape is always the same. The row is part of the
current transaction like any other write: the caller commits, a rollback removes it.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import event, insert
from sqlalchemy.orm import Session, make_transient_to_detached

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
