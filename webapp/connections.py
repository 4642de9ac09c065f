"""PostgreSQL connections: checked before use without a query, and their prepared statements
kept.

**Checked without a query.** A pooled connection is checked before use without asking the
server anything.

SQLAlchemy's `pool_pre_ping` sends a query at every checkout: one more round trip for every
request and every socket event, and under the gevent worker each round trip sends the handler
to the back of the queue of greenlets ready to run (bench/HISTORY.md, thirteenth session).

A connection the server ended (restarted, `pg_terminate_backend`, an idle timeout) has already
told us so: the server sends its farewell and closes the socket. Reading whatever is waiting,
without blocking (libpq's socket is non-blocking), finds that out locally: a connection that
was closed, is broken, or is not idle and outside a transaction is refused, and the pool opens
a new one instead (it tries three times before giving up). Connections through other drivers
keep `pool_pre_ping` (config.engine_options). A connection cut with no word from the server
(a cable pulled) is found by neither check before the network's own timeout.

**Prepared statements kept.** psycopg prepares a statement on the server after its fifth run on
a connection, and PostgreSQL then no longer plans it on every run: a socket event's first
statement joins seven tables, and planning it cost 2.5 ms where running it cost 0.45 (EXPLAIN
ANALYZE, a slow hour). But psycopg forgets every prepared statement at each ROLLBACK (and
deallocates them on the server right after it, one more round trip), and every transaction
that wrote nothing ended with one: every page, every "typing", every new socket. So the
statements were planned again on every run. A transaction that ran nothing but SELECTs (none
of the app's calls a function that writes) now ends with COMMIT, which ends it the same way
and keeps them; one that ran anything else, or failed, is rolled back as before.
"""

from __future__ import annotations

import weakref

from sqlalchemy import event, exc

# Connections whose server said it is ending them: its farewell (a FATAL message) comes a
# moment before the end of the stream.
_FAREWELL: weakref.WeakSet = weakref.WeakSet()


def install(engine) -> None:
    """Both, for a psycopg engine (see above); other engines are left as they are."""
    if engine.dialect.driver != "psycopg" or event.contains(
        engine, "before_cursor_execute", _note_writes
    ):
        return
    event.listen(engine, "connect", _listen_for_farewell)
    event.listen(engine, "checkout", _check_on_checkout)
    event.listen(engine, "before_cursor_execute", _note_writes)
    event.listen(engine, "commit", _forget_writes)
    engine.dialect.do_rollback = _end_transaction


# Connections whose open transaction ran something else than a SELECT.
_WRITING: weakref.WeakSet = weakref.WeakSet()


def _note_writes(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        _WRITING.add(conn.connection.dbapi_connection)


def _forget_writes(conn) -> None:
    _WRITING.discard(conn.connection.dbapi_connection)


def _end_transaction(connection) -> None:
    """The dialect's rollback: COMMIT for a transaction that only read (the same end, and
    psycopg keeps its prepared statements), ROLLBACK for any other."""
    from psycopg import pq

    raw = getattr(connection, "dbapi_connection", connection)  # the pool passes a proxy
    if raw in _WRITING or raw.pgconn.transaction_status != pq.TransactionStatus.INTRANS:
        _WRITING.discard(raw)
        raw.rollback()
    else:
        raw.commit()


def _listen_for_farewell(dbapi_connection, _record) -> None:
    ref = weakref.ref(dbapi_connection)  # no cycle through the connection's own handlers

    def heard(diagnostic) -> None:
        connection = ref()
        if diagnostic.severity_nonlocalized == "FATAL" and connection is not None:
            _FAREWELL.add(connection)

    dbapi_connection.add_notice_handler(heard)


def _check_on_checkout(dbapi_connection, _record, _proxy) -> None:
    if not still_usable(dbapi_connection):
        raise exc.DisconnectionError("the database server closed this connection")


def still_usable(connection) -> bool:
    """A psycopg connection the server has not ended, idle and outside a transaction."""
    from psycopg import OperationalError, pq

    if connection.closed or connection.broken:
        return False
    pgconn = connection.pgconn
    try:
        pgconn.consume_input()  # read what the server sent meanwhile, without waiting
        pgconn.is_busy()  # and parse it: a farewell reaches the handler above
    except OperationalError:  # the end of the stream
        return False
    return (connection not in _FAREWELL
            and pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status == pq.TransactionStatus.IDLE)
