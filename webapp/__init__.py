"""Health Space application factory."""

from __future__ import annotations

from flask import Flask

from . import config as config_module
from .extensions import (
    babel, compress, csrf, db, htmx_ext, limiter, login_manager, migrate, socketio,
)

BLUEPRINTS = ("core", "accounts", "circle", "chat", "agenda", "push")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(config_module.INSTANCE),
        template_folder=str(config_module.ROOT / "templates"),
        static_folder=str(config_module.ROOT / "static"),
    )
    app.config.update(config_module.from_environment())
    if config:
        app.config.update(config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.ROOT / "migrations"),
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

    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["REDIS_URL"],
        cors_allowed_origins=_allowed_origins(app),
        manage_session=False,
    )

    import importlib
    import importlib.util

    for name in BLUEPRINTS:
        package = importlib.import_module(f"{__name__}.{name}")
        app.register_blueprint(package.bp)
        if importlib.util.find_spec(f"{__name__}.{name}.models"):
            importlib.import_module(f"{__name__}.{name}.models")
        # Socket.IO handlers register themselves on import.
        if importlib.util.find_spec(f"{__name__}.{name}.events"):
            importlib.import_module(f"{__name__}.{name}.events")

    from . import assets, cli, security

    assets.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    return app


def _allowed_origins(app: Flask) -> list[str]:
    """Socket.IO accepts only the app's own origin (plus extra ones for tests/deploys)."""
    origins = [app.config["WEBAUTHN_ORIGIN"]]
    origins += app.config.get("EXTRA_ALLOWED_ORIGINS", [])
    return origins
