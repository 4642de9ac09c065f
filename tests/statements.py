"""Counting the SQL a piece of code sends: for the tests that pin how many statements a page,
an event or a policy question costs."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def recorded_statements():
    """Every statement sent to the app's database while the block runs. Enter it inside an
    app context: the engine is looked up on entry."""
    from webapp.extensions import db

    engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reading(statements: list[str], table: str) -> list[str]:
    """The SELECTs among `statements` that read `table`."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and table in s]
