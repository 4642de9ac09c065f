import pytest


def test_sign_in_page_renders(client):
    response = client.get("/accounts/sign-in")
    assert response.status_code == 200
    assert b"password" in response.data


def test_password_sign_in_reaches_home(client, make_user, login):
    user = make_user("patient", display_name="Jeanne")
    login(client, user)
    response = client.get("/home")
    assert response.status_code == 200
    assert "Jeanne" in response.get_data(as_text=True)


def test_home_requires_sign_in(client):
    response = client.get("/home")
    assert response.status_code == 302
    assert "/accounts/sign-in" in response.headers["Location"]


def test_sqlite_connections_enforce_foreign_keys(app):
    # The models rely on the schema's ON DELETE rules (passive_deletes); SQLite applies them
    # only on connections that ask.
    import sqlalchemy as sa

    from webapp.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL always enforces foreign keys")
        fresh = sa.create_engine(db.engine.url)
        try:
            with fresh.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        finally:
            fresh.dispose()
