"""SQLite never reuses an id: every table's integer id becomes AUTOINCREMENT

Without it SQLite gives the id of the newest deleted row to the next one, so a link, a
notification or an access-history line about a deleted appointment (or message, grant...)
could later point at another row. PostgreSQL sequences never go back: nothing to do there.

SQLite cannot alter a primary key: each table is rebuilt from its own stored CREATE TABLE
(the documented copy / drop / rename procedure), with only the primary key's clause changed,
so every other constraint is kept exactly as written. Its indexes are recreated from their
stored SQL. Foreign keys are off during migrations (migrations/env.py).

Revision ID: 0008
Revises: 0007
"""

import re

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMN = "\n\tid INTEGER NOT NULL, \n"
TABLE_PK = re.compile(r", \n\tCONSTRAINT (pk_\w+) PRIMARY KEY \(id\)")
COLUMN_PK = re.compile(r"\n\tid INTEGER NOT NULL CONSTRAINT (pk_\w+) PRIMARY KEY AUTOINCREMENT, \n")


def _with_autoincrement(sql: str) -> str | None:
    found = TABLE_PK.search(sql)
    if found is None or COLUMN not in sql:
        return None
    sql = sql[: found.start()] + sql[found.end():]
    column = f"\n\tid INTEGER NOT NULL CONSTRAINT {found.group(1)} PRIMARY KEY AUTOINCREMENT, \n"
    return sql.replace(COLUMN, column, 1)


def _without_autoincrement(sql: str) -> str | None:
    found = COLUMN_PK.search(sql)
    if found is None:
        return None
    sql = sql[: found.start()] + COLUMN + sql[found.end():]
    primary_key = f"\n\tCONSTRAINT {found.group(1)} PRIMARY KEY (id)"
    if "\n\tCONSTRAINT " in sql:  # first among the table constraints, as it was created
        at = sql.index("\n\tCONSTRAINT ")
        return sql[:at] + primary_key + ", " + sql[at:]
    at = sql.rindex("\n)")
    return sql[:at] + ", " + primary_key + sql[at:]


CREATE = re.compile(r'CREATE TABLE "?\w+"? \(')


def _rebuild(rewrite) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    tables = bind.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
    ).all()
    for name, sql in tables:
        new_sql = rewrite(sql)
        if new_sql is None:
            continue
        indexes = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (name,),
        ).scalars().all()
        columns = ", ".join(
            f'"{row[1]}"' for row in bind.exec_driver_sql(f'PRAGMA table_info("{name}")')
        )
        temporary = f"{name}__rebuilt"
        bind.exec_driver_sql(CREATE.sub(f'CREATE TABLE "{temporary}" (', new_sql, count=1))
        bind.exec_driver_sql(
            f'INSERT INTO "{temporary}" ({columns}) SELECT {columns} FROM "{name}"'
        )
        bind.exec_driver_sql(f'DROP TABLE "{name}"')
        bind.exec_driver_sql(f'ALTER TABLE "{temporary}" RENAME TO "{name}"')
        for index in indexes:
            bind.exec_driver_sql(index)


def upgrade():
    _rebuild(_with_autoincrement)


def downgrade():
    _rebuild(_without_autoincrement)
