"""Pooled PostgreSQL connections are checked without a query (webapp/connections.py): a
connection the server ended is replaced, not handed to a request that would then fail.

The PostgreSQL tests run in the PostgreSQL pass (DATABASE_URL=postgresql+psycopg://…)."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from webapp import config
from webapp.connections import still_usable
from webapp.extensions import db


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("DATABASE_URL is not PostgreSQL (the PostgreSQL pass runs this)")
    return url


def _end_backend(pid: int) -> None:
    """What a server restart or an idle timeout does to one connection, and wait until the
    server has let it go."""
    import psycopg

    plain = sa.engine.make_url(_postgres_url()).set(drivername="postgresql")
    with psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the server did not end the connection"
            time.sleep(0.05)


def test_only_other_drivers_are_pinged_by_a_query():
    assert config.engine_options("sqlite:///x.db") == {}
    assert config.engine_options("postgresql+psycopg://u@h/db") == {}
    assert config.engine_options("postgresql://u@h/db") == {"pool_pre_ping": True}


@pytest.mark.postgres
def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(app, client):
    _postgres_url()
    with app.app_context():
        assert db.engine.pool._pre_ping is False  # no query at checkout: the check below
        ended = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # back to the pool, idle
    _end_backend(ended)

    response = client.get("/healthz")

    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar() != ended


@pytest.mark.postgres
def test_a_connection_is_usable_only_idle_and_open(app):
    _postgres_url()
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            raw = connection.dbapi_connection
            assert still_usable(raw)
            raw.execute("SELECT 1")  # a transaction left open
            assert not still_usable(raw)
            raw.rollback()
            assert still_usable(raw)
            _end_backend(raw.info.backend_pid)
            assert not still_usable(raw)
        finally:
            connection.invalidate()


@pytest.mark.postgres
def test_transactions_that_only_read_keep_the_statements_psycopg_prepared(app, make_user):
    """psycopg prepares a statement at its fifth run on a connection and forgets them all at a
    ROLLBACK: a transaction that only read ends with COMMIT, so they stay prepared."""
    from webapp.accounts.models import User

    _postgres_url()
    someone = make_user("patient")
    with app.app_context(), db.engine.connect() as connection:  # one connection of the pool
        for _ in range(8):  # eight requests or socket events that read and wrote nothing
            connection.execute(sa.select(User).where(User.id == someone.id)).one()
            connection.rollback()  # what the end of a request does
        prepared = connection.execute(
            sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar()
    assert prepared >= 1


@pytest.mark.postgres
def test_a_transaction_that_wrote_and_was_not_committed_is_still_rolled_back(app, make_user):
    from webapp.accounts.models import User

    _postgres_url()
    someone = make_user("patient", display_name="Jeanne Martin")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == someone.id)
                           .values(display_name="Never saved"))
        # Ends here without a commit: an error, or a change refused half-way.
    with app.app_context():
        assert db.session.get(User, someone.id).display_name == "Jeanne Martin"
    with app.app_context():
        with pytest.raises(sa.exc.DataError):
            db.session.execute(sa.text("SELECT 1 / 0"))  # a failed transaction
    with app.app_context():
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
