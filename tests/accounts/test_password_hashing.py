"""Password hashing costs: the standard Argon2id profile for people, a light one only for the
test suite (which signs in hundreds of times), and nothing in between by mistake."""

from __future__ import annotations

import pytest
from argon2 import Type, extract_parameters

from tests.factories import PASSWORD
from webapp import config, create_app
from webapp.accounts.models import User
from webapp.accounts.services.passwords import _hasher_for, hasher
from webapp.extensions import db


def test_the_standard_profile_is_rfc_9106_low_memory():
    standard = _hasher_for("standard")
    assert standard.type is Type.ID
    assert standard.memory_cost >= 64 * 1024  # KiB
    assert standard.time_cost >= 3
    assert standard.parallelism >= 4


def test_people_get_the_standard_profile_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("PASSWORD_HASHING")
    assert config.from_environment()["PASSWORD_HASHING"] == "standard"


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({"PASSWORD_HASHING": "standard", "ENV_NAME": "production"}, False),
        ({"PASSWORD_HASHING": "light", "ENV_NAME": "test"}, False),
        ({"PASSWORD_HASHING": "light", "ENV_NAME": "development", "TESTING": True}, False),
        ({"PASSWORD_HASHING": "light", "ENV_NAME": "production"}, True),
        ({"PASSWORD_HASHING": "light", "ENV_NAME": "development"}, True),
        ({"PASSWORD_HASHING": "cheap", "ENV_NAME": "test"}, True),
    ],
)
def test_light_hashing_is_refused_outside_tests(settings, refused):
    if refused:
        with pytest.raises(RuntimeError, match="PASSWORD_HASHING"):
            config.check_settings(settings)
    else:
        config.check_settings(settings)


def test_an_app_serving_people_will_not_start_with_light_hashing(monkeypatch):
    monkeypatch.setenv("HEALTHSPACE_ENV", "production")
    monkeypatch.setenv("PASSWORD_HASHING", "light")
    # Refused before any extension is bound to it (the test process's app is left alone).
    with pytest.raises(RuntimeError, match="test suite"):
        create_app()


def test_a_sign_in_rehashes_a_password_hashed_under_other_costs(app, client, make_user):
    user = make_user("patient")
    standard = _hasher_for("standard").hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = standard
        db.session.commit()
        wanted = extract_parameters(hasher().hash("anything"))
    response = client.post("/accounts/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert stored != standard
    assert extract_parameters(stored) == wanted
