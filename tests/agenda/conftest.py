"""Agenda fixtures: a patient with a relative and a professional in the circle (agenda scope)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import factories


@dataclass
class People:
    patient_id: int
    relative_id: int
    pro_id: int
    outsider_id: int
    other_pro_id: int

    def get(self, name: str):
        from webapp.accounts.models import User
        from webapp.extensions import db

        return db.session.get(User, getattr(self, f"{name}_id"))


def give(patient, grantee, scopes: str = "agenda"):
    from webapp.circle import services as circle
    from webapp.extensions import db

    circle.grant(patient, grantee, scopes, None)
    db.session.commit()


@pytest.fixture
def people(app):
    with app.app_context():
        patient = factories.user("patient", display_name="Jeanne Test", timezone="Europe/Paris",
                                 language="en")
        relative = factories.user("relative", display_name="Claire Test", language="en")
        pro = factories.user("professional", display_name="Dr Pro", language="en")
        outsider = factories.user("relative", display_name="Not In Circle", language="en")
        other_pro = factories.user("professional", display_name="Dr Messages Only",
                                   language="en")
        give(patient, relative, "agenda")
        give(patient, pro, "messages,agenda")
        give(patient, other_pro, "messages")
        return People(patient.id, relative.id, pro.id, outsider.id, other_pro.id)


@pytest.fixture
def ctx(app):
    with app.app_context():
        with app.test_request_context():
            yield
