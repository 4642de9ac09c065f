"""An id names one row forever: links, notifications and access-history lines keep pointing
at what they were about, even after it is deleted (SQLite: AUTOINCREMENT, migration 0008;
PostgreSQL sequences never go back)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _integer_id_tables() -> list[str]:
    return sorted(
        table.name
        for table in db.metadata.sorted_tables
        if [c.name for c in table.primary_key.columns] == ["id"]
        and isinstance(table.c.id.type, sa.Integer)
    )


def test_every_table_with_an_integer_id_never_reuses_one(app_ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sequences never reuse a value")
    with db.engine.connect() as connection:
        schema = dict(connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        ).all())
    tables = _integer_id_tables()
    assert len(tables) > 20  # the models are all imported
    assert [t for t in tables if "AUTOINCREMENT" not in schema[t]] == []


def test_the_id_of_a_deleted_row_is_not_given_again(app_ctx, make_user):
    from webapp.accounts.models import User

    make_user("patient")
    newest = make_user("relative")
    db.session.delete(db.session.get(User, newest.id))
    db.session.commit()
    assert make_user("relative").id > newest.id


def _upgrade(path, revision: str) -> None:
    """`flask db upgrade|downgrade` in a process of its own: a second app in this process
    would take over the shared Socket.IO server of the tests' app."""
    command = ["downgrade", "0007"] if revision == "down" else ["upgrade", revision]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}",
           "HEALTHSPACE_INSTANCE": str(path.parent), "HEALTHSPACE_ENV": "test"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", *command],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def test_the_migration_keeps_every_row_constraint_and_index(tmp_path):
    path = tmp_path / "old.db"
    _upgrade(path, "0007")
    with sqlite3.connect(path) as old:
        old.execute(
            "INSERT INTO users (id, email, display_name, role, language, timezone, large_text,"
            " theme, session_token, webauthn_handle, active) VALUES"
            " (1, 'a@x.test', 'A', 'patient', 'fr', 'Europe/Paris', 0, 'auto', 't1', x'01', 1),"
            " (2, 'b@x.test', 'B', 'relative', 'fr', 'Europe/Paris', 0, 'auto', 't2', x'02', 1)"
        )
        old.execute(
            "INSERT INTO circle_grants (id, patient_id, grantee_id, scopes) VALUES (7, 1, 2, 'x')"
        )
        before = old.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
    _upgrade(path, "0008")
    with sqlite3.connect(path) as new:
        assert new.execute("SELECT id, email FROM users ORDER BY id").fetchall() == [
            (1, "a@x.test"), (2, "b@x.test")
        ]
        assert new.execute("SELECT id, patient_id, grantee_id FROM circle_grants").fetchall() == [
            (7, 1, 2)
        ]
        after = new.execute(
            "SELECT type, name FROM sqlite_master WHERE name != 'sqlite_sequence' ORDER BY name"
        ).fetchall()
        assert after == before  # same tables, same indexes (named and unique ones)
        assert new.execute("PRAGMA foreign_key_check").fetchall() == []
        new.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(sqlite3.IntegrityError):  # the unique e-mail is still there
            new.execute(
                "INSERT INTO users (email, display_name, role, language, timezone, large_text,"
                " theme, session_token, webauthn_handle, active) VALUES"
                " ('a@x.test', 'C', 'patient', 'fr', 'Europe/Paris', 0, 'auto', 't3', x'03', 1)"
            )
        with pytest.raises(sqlite3.IntegrityError):  # and the foreign keys
            new.execute("INSERT INTO circle_grants (patient_id, grantee_id, scopes) "
                        "VALUES (1, 99, 'x')")
        new.execute("DELETE FROM circle_grants WHERE id = 7")
        new.execute("INSERT INTO circle_grants (patient_id, grantee_id, scopes) VALUES (1, 2, 'x')")
        assert new.execute("SELECT id FROM circle_grants").fetchall() == [(8,)]
        new.commit()
    _upgrade(path, "down")
    with sqlite3.connect(path) as back:
        schema = back.execute("SELECT sql FROM sqlite_master WHERE name = 'users'").fetchone()[0]
        assert "AUTOINCREMENT" not in schema and "PRIMARY KEY (id)" in schema
        assert back.execute("SELECT count(*) FROM users").fetchone() == (2,)
