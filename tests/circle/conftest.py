"""A small circle: Jeanne (patient), Claire (her daughter), Nadia (nurse), Paul (GP, no grant),
Olga (another patient)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from webapp.accounts.models import User
from webapp.extensions import db


def get(user_or_id) -> User:
    return db.session.get(User, getattr(user_or_id, "id", user_or_id))


def give(patient, grantee, scopes: str, ends_at=None):
    from webapp.circle import services

    row = services.grant(get(patient), get(grantee), scopes, ends_at)
    db.session.commit()
    return row.id


def record_at(when, actor, patient, action, object_type, object_id=None, **kw):
    """audit.record as if it happened at `when` (UTC): the history is append-only, so a row's
    time is set by the clock it reads, never changed afterwards."""
    from unittest.mock import patch

    from webapp import audit

    with patch.object(audit, "_now", lambda: when):
        return audit.record(actor, patient, action, object_type, object_id, **kw)


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def people(app, make_user):
    jeanne = make_user("patient", display_name="Jeanne Martin", language="en", city="Lyon")
    claire = make_user("relative", display_name="Claire Martin", language="en")
    nadia = make_user("professional", display_name="Nadia Benali", profession="Nurse",
                      city="Lyon", rpps="10101010101", language="en")
    paul = make_user("professional", display_name="Paul Lefevre",
                     profession="General practitioner", city="Villeurbanne",
                     rpps="20202020202", language="en")
    olga = make_user("patient", display_name="Olga Petit", language="en")
    return SimpleNamespace(jeanne=jeanne, claire=claire, nadia=nadia, paul=paul, olga=olga)


@pytest.fixture
def granted(app, people):
    """Claire holds messages+agenda, Nadia all four scopes."""
    with app.app_context():
        people.claire_grant = give(people.jeanne, people.claire, "messages,agenda")
        people.nadia_grant = give(people.jeanne, people.nadia,
                                  "messages,agenda,documents,summary")
    return people


def fresh_sign_in(client, user):
    from tests.factories import PASSWORD

    response = client.post("/accounts/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code in (302, 204), response.get_data(as_text=True)[:300]
    return client


ONE_DAY = timedelta(days=1)
