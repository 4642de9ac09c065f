"""What a deployment puts in Redis is under a namespace of its own, derived from its
SECRET_KEY: processes that share sessions share it, another deployment on the same Redis does
not (tests/chat/test_live.py checks that no message crosses over)."""

from __future__ import annotations

from webapp.config import redis_namespace


def test_processes_with_the_same_secret_share_a_namespace_and_others_do_not():
    first = redis_namespace("the secret of production")
    assert first == redis_namespace("the secret of production")
    assert first != redis_namespace("the secret of staging")
    assert first.startswith("hs-") and "secret" not in first


def test_the_app_uses_it_for_socket_io_presence_and_rate_limits(app):
    from webapp.chat.presence import Presence
    from webapp.extensions import socketio

    namespace = app.config["REDIS_NAMESPACE"]
    assert app.config["RATELIMIT_KEY_PREFIX"] == namespace
    presence = Presence()
    presence.configure(app.config)
    assert presence._key(7) == f"{namespace}:presence:7"
    manager = socketio.server.manager
    if app.config["REDIS_URL"]:  # the PostgreSQL + Redis pass
        assert manager.channel == f"{namespace}:socketio"
