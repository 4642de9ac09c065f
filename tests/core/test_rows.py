"""Rows read with a plain statement and kept in the session as the ORM would have loaded them
(webapp/rows.py, loaded_row): what a socket event does with its sender's account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import instance_state

from tests.statements import recorded_statements
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.rows import columns_of, loaded_row


def _values(user_id: int):
    return db.session.connection().execute(
        select(*columns_of(User)).where(User.__table__.c.id == user_id)).one()


def _columns(user: User) -> dict:
    return {attribute.key: getattr(user, attribute.key)
            for attribute in User.__mapper__.column_attrs}


def test_a_row_read_with_a_plain_select_is_what_the_orm_would_have_loaded(app, make_user):
    made = make_user("relative", display_name="Claire Martin")
    with app.app_context():
        db.session.get(User, made.id).large_text = True
        db.session.get(User, made.id).timezone = "America/Montreal"
        db.session.commit()
        expected = _columns(db.session.get(User, made.id))
        assert expected["large_text"] is True and expected["created_at"] is not None
        db.session.expunge_all()

        user = loaded_row(User, _values(made.id))
        assert instance_state(user).persistent
        with recorded_statements() as statements:
            # Every column is there, typed as the ORM types it (the dates are datetimes, the
            # flags booleans), and the session answers for the account without a query.
            assert _columns(user) == expected
            assert db.session.get(User, made.id) is user
            assert not (db.session.new or db.session.dirty)
        assert statements == []
        assert user.passkeys == []  # relationships load as on any persistent row

        user.display_name = "Claire M."  # and a change is written as any other
        db.session.commit()
    with app.app_context():
        assert db.session.get(User, made.id).display_name == "Claire M."


def test_the_sessions_own_account_is_kept_and_what_it_had_forgotten_filled_in(app, make_user):
    made = make_user("professional", display_name="Nadia Benali")
    with app.app_context():
        own = db.session.get(User, made.id)
        values = _values(made.id)
        db.session.expire(own, ["display_name", "language"])
        own.city = "Lyon"  # a change not yet written stays as it is

        with recorded_statements() as statements:
            user = loaded_row(User, values)
            assert user is own
            assert (user.display_name, user.city) == ("Nadia Benali", "Lyon")
        assert statements == []
        assert list(db.session.dirty) == [own]
