"""Shared fixtures. The database is built from empty through the migrations, never create_all.

DATABASE_URL (PostgreSQL) and REDIS_URL from the environment switch the run to the scale-out
path; without them the embedded default (a temporary SQLite file, in-memory limiter) is used.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests import factories
from tests.push.push_endpoint import push_endpoint  # noqa: F401 -- fixture for every domain

os.environ.setdefault("HEALTHSPACE_ENV", "test")
# Hundreds of sign-ins: at the standard Argon2 cost they took a third of the suite's time.
# Servers the tests start inherit it; tests/accounts/test_password_hashing.py checks the
# standard profile and that "light" is refused outside tests.
os.environ.setdefault("PASSWORD_HASHING", "light")


def _fresh_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgresql"):
        _fresh_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    from webapp import create_app

    instance = tmp_path_factory.mktemp("instance")
    os.environ["HEALTHSPACE_INSTANCE"] = str(instance)
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        # Two test runs on one Redis (PostgreSQL pass) count their rate limits apart.
        "REDIS_NAMESPACE": f"hs-test-{os.getpid()}",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,  # the security tests switch it on (csrf_enabled fixture)
        "SERVER_NAME": None,
        "INSTANCE_DIR": str(instance),
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Each test starts with empty tables and fresh rate-limit counters."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from webapp.extensions import db, limiter

    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def make_user(app):
    """make_user(role="patient", **fields) → a committed User."""

    def make(role: str = "patient", **fields):
        with app.app_context():
            user = factories.user(role=role, **fields)
            from webapp.extensions import db

            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def login(app):
    """login(client, user) signs in through the real password route."""

    def do(client, user):
        response = client.post("/accounts/sign-in", data={
            "email": user.email, "password": factories.PASSWORD,
        })
        assert response.status_code in (302, 204), response.get_data(as_text=True)[:500]
        return client

    return do
