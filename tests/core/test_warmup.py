"""A serving worker is warmed up before it takes traffic (gunicorn.conf.py's post_worker_init):
what socket events would otherwise do the first time, while every other socket waits."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.audit import AccessEvent
from webapp.chat.models import Conversation, Message
from webapp.extensions import db
from webapp.warmup import warm_up


def _rows(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Message, Conversation, AccessEvent))


def test_warm_up_compiles_the_socket_events_template_and_statement_and_writes_nothing(app):
    before = _rows(app)
    with app.app_context():
        app.jinja_env.cache.clear()
        db.engine._compiled_cache.clear()
        warm_up(app)
        templates = {key[1] for key in app.jinja_env.cache.keys()}
        statements = [compiled.string for compiled in db.engine._compiled_cache.values()]
    # The chat's step: the fragment its socket events render, and every socket event's first
    # query (conversation, members, sender).
    assert "chat/_message.html" in templates
    assert any("FROM conversations" in sql and "conversation_members" in sql
               for sql in statements)
    assert _rows(app) == before


def test_the_serving_worker_warms_up_before_it_freezes_its_heap():
    from pathlib import Path

    conf = (Path(__file__).resolve().parents[2] / "gunicorn.conf.py").read_text()
    hook = conf[conf.index("def post_worker_init"):]
    assert hook.index("warm_up(worker.wsgi)") < hook.index("manage_gc(worker)")
