"""Health Space application factory."""

from __future__ import annotations

from flask import Flask

from . import config as config_module
from .extensions import (
    babel,
    compress,
    csrf,
    db,
    htmx_ext,
    limiter,
    login_manager,
    socketio,
)
from .socket_middleware import HealthSpaceFlask

BLUEPRINTS = ("core", "accounts", "circle", "chat", "agenda", "push")


def create_app(config: dict | None = None) -> Flask:
    app = HealthSpaceFlask(
        __name__,
        instance_path=str(config_module.INSTANCE),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)
    config_module.check_settings(app.config)
    if not app.config.get("REDIS_NAMESPACE"):
        app.config["REDIS_NAMESPACE"] = config_module.redis_namespace(app.config["SECRET_KEY"])
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["REDIS_NAMESPACE"])
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS",
        config_module.engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
    )

    db.init_app(app)
    _sqlite_pragmas()
    from . import connections

    with app.app_context():
        connections.install(db.engine)
    if app.config.get("MIGRATIONS", True):
        # Alembic (11 MB in every process) only where migrations run: the flask command,
        # the tests, the benchmarks. A serving process is created with MIGRATIONS False.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(config_module.ROOT / "migrations"),
                render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    htmx_ext.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)

    from . import i18n
    # Before init_app: Flask-Babel reads the directories once, when it is initialised.
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", i18n.translation_directories())
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    # Not the numberformat filter on a literal: Jinja folds it once, in whichever language
    # compiled the template first.
    app.jinja_env.globals["number"] = i18n.number

    import importlib
    import importlib.util

    from .ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    for name in BLUEPRINTS:
        package = importlib.import_module(f"{__name__}.{name}")
        app.register_blueprint(package.bp)
        if importlib.util.find_spec(f"{__name__}.{name}.models"):
            importlib.import_module(f"{__name__}.{name}.models")
        # Socket.IO handlers register themselves on import.
        if importlib.util.find_spec(f"{__name__}.{name}.events"):
            importlib.import_module(f"{__name__}.{name}.events")

    # After the handlers are imported: Flask-SocketIO binds a handler declared while a server
    # exists to that server only, so a second app in the same process would get none.
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        channel=f'{app.config["REDIS_NAMESPACE"]}:socketio',
        cors_allowed_origins=_allowed_origins(app),
        manage_session=False,
        # A client's events run one after the other in the greenlet that reads its socket,
        # not each in a greenlet of its own: no spawn per event, and one phone's messages
        # are handled (and stored) in the order it sent them. Nothing here waits on a reply
        # from the client (socketio.call), which this would forbid.
        async_handlers=False,
    )
    from . import socket_middleware

    socket_middleware.install(app, socketio)

    from . import assets, cli, security

    assets.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    app.teardown_request(_release_request)
    return app


def _release_request(_exc=None) -> None:
    """Every Socket.IO event runs in a request context built on its connection's environ,
    which lives as long as the socket. Werkzeug files the request in that environ, with the
    event's arguments (a message's text): dropped here, not kept until the socket's next
    event. (Events are not matched against the routes either: see SocketEventContext.)"""
    from flask import request

    request.environ.pop("werkzeug.request", None)


def _sqlite_pragmas() -> None:
    """SQLite in WAL mode with synchronous=NORMAL, set on every new connection: a commit is
    an append to the log with no fsync (durable across a crash of the process, not of the
    machine's power), readers never wait for the writer. Under the gevent worker a commit
    blocks the whole loop, so its cost is every connected client's latency (measured here:
    3 ms median, 28 ms p99 with the default rollback journal and its fsyncs; 15 µs in WAL).
    PostgreSQL connections are left alone."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if event.contains(Engine, "connect", _on_sqlite_connect):
        return
    event.listen(Engine, "connect", _on_sqlite_connect)


def _on_sqlite_connect(dbapi_connection, _record) -> None:
    import sqlite3

    from . import checkpoint

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # SQLite ignores foreign keys unless asked, per connection: without this the schema's
        # ON DELETE CASCADE / SET NULL (which the models rely on, passive_deletes) did nothing
        # here while PostgreSQL applied them, and a reused id inherited the deleted row's
        # children (a relative reminded of another patient's appointment).
        cursor.execute("PRAGMA foreign_keys=ON")
        if checkpoint.automatic_checkpoints_off():
            # A serving process checkpoints on a thread of its own (webapp/checkpoint.py).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()


def _allowed_origins(app: Flask) -> list[str]:
    """Socket.IO accepts only the app's own origin (plus extra ones for tests/deploys)."""
    origins = [app.config["WEBAUTHN_ORIGIN"]]
    origins += app.config.get("EXTRA_ALLOWED_ORIGINS", [])
    return origins
