"""Professions: a fixed list stored as codes, shown in the reader's language everywhere."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import render_template_string

from webapp.accounts import professions, services
from webapp.accounts.models import Invitation, User
from webapp.errors import UserError
from webapp.extensions import db

HX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]


def _profession_options(page: str) -> list[tuple[str, str]]:
    select = re.search(r'<select id="profession".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', select)


def _new_code(response) -> str:
    return re.search(r'id="new-code">([A-Z0-9-]+)<', response.get_data(as_text=True)).group(1)


# ---- The invitation form ---------------------------------------------------------------

def test_the_invitation_form_offers_the_list_in_english(client, make_user, login):
    login(client, make_user("admin"))
    options = _profession_options(client.get("/accounts/invitations").get_data(as_text=True))
    assert options[0] == ("", "Choose a profession")
    assert ("nurse", "Nurse") in options and ("midwife", "Midwife") in options
    assert ("general_practitioner", "General practitioner") in options
    assert options[-1] == ("other", "Other health professional")
    names = [name for _code, name in options[1:-1]]
    assert names == sorted(names)


def test_the_invitation_form_in_french_is_sorted_by_the_french_names(client, make_user, login):
    login(client, make_user("admin", language="fr"))
    options = _profession_options(client.get("/accounts/invitations").get_data(as_text=True))
    assert ("nurse", "Infirmier·ère") in options and ("midwife", "Sage-femme") in options
    assert ("physiotherapist", "Kinésithérapeute") in options
    assert options[-1] == ("other", "Autre professionnel·le de santé")
    names = [name for _code, name in options[1:-1]]
    assert names.index("Ergothérapeute") < names.index("Infirmier·ère") \
        < names.index("Médecin généraliste") < names.index("Sage-femme")


def test_a_chosen_profession_is_stored_as_its_code_and_shown_translated(app, client, make_user,
                                                                        login):
    login(client, make_user("admin"))
    response = client.post("/accounts/invitations", headers=HX, data={
        "role": "professional", "profession": "midwife", "rpps": "12345678901"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Midwife · RPPS 12345678901" in body  # the recent codes list
    code = _new_code(response)
    with app.app_context():
        assert db.session.scalar(db.select(Invitation.profession)) == "midwife"
    client.post("/accounts/sign-out")
    english = client.get(f"/accounts/join?code={code}", headers={"Accept-Language": "en"})
    assert "Midwife · RPPS 12345678901" in english.get_data(as_text=True)
    french = client.get(f"/accounts/join?code={code}", headers={"Accept-Language": "fr"})
    assert "Sage-femme · RPPS 12345678901" in french.get_data(as_text=True)


@pytest.mark.parametrize("profession", [
    "Astronaut", "<script>alert(1)</script>", "x" * 500, "nurse; drop table", "0",
])
def test_a_profession_outside_the_list_is_refused_and_nothing_is_written(app, client, make_user,
                                                                        login, profession):
    login(client, make_user("admin"))
    for headers in (HX, {}):
        response = client.post("/accounts/invitations", headers=headers, data={
            "role": "professional", "profession": profession, "rpps": "12345678901"})
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert "Please choose a profession from the list." in body
        select = re.search(r'<select id="profession"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in select
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Invitation)) == 0


# ---- Display ---------------------------------------------------------------------------

@pytest.mark.parametrize("language, expected", [
    ("en", "General practitioner · RPPS"), ("fr", "Médecin généraliste · RPPS"),
])
def test_the_me_page_names_the_profession_in_the_readers_language(client, make_user, login,
                                                                 language, expected):
    login(client, make_user("professional", profession="general_practitioner",
                            language=language))
    assert expected in client.get("/accounts/me").get_data(as_text=True)


def test_text_kept_from_before_the_list_is_shown_as_typed(app, client, make_user, login):
    user = make_user("professional", language="fr")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id)
                           .values(profession="Orthoptiste"))
        db.session.commit()
    login(client, user)
    assert "Orthoptiste · RPPS" in client.get("/accounts/me").get_data(as_text=True)


def test_the_shared_filter_for_every_domains_templates(app):
    template = "{{ 'nurse'|profession_label }}|{{ 'Orthoptiste'|profession_label }}|" \
               "{{ none|profession_label }}"
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert render_template_string(template) == "Infirmier·ère|Orthoptiste|"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string(template) == "Nurse|Orthoptiste|"


# ---- The service -----------------------------------------------------------------------

def test_known_words_become_codes_and_the_rest_is_refused(app_ctx):
    assert professions.normalise("nurse") == "nurse"
    assert professions.normalise(" Infirmière ") == "nurse"
    assert professions.normalise("Aide-soignante") == "care_assistant"
    assert professions.normalise("GP") == "general_practitioner"
    assert professions.normalise("general_practitioner") == "general_practitioner"
    for bad in ("", None, "Astronaut", "nurse nurse"):
        with pytest.raises(UserError):
            professions.normalise(bad)


def test_an_invitation_from_before_the_list_still_opens_an_account_with_its_text(app_ctx):
    invitation = Invitation(code_hash="x" * 64, role="professional", profession="Orthoptiste",
                            rpps="98765432101", expires_at=services.now().replace(year=2100))
    db.session.add(invitation)
    db.session.flush()
    user = services.redeem_invitation(invitation, display_name="Olivia",
                                      email="olivia@example.test", password="long enough pass")
    db.session.commit()
    assert user.profession == "Orthoptiste"
    # A new account, though, takes a profession from the list only.
    with pytest.raises(UserError):
        services.create_user(email="new@example.test", display_name="New", role="professional",
                             profession="Orthoptiste", rpps="98765432102")


def test_search_words_find_the_codes(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert professions.matching_codes("infirm") == ["nurse"]
        assert professions.matching_codes("nurse") == ["nurse"]
        assert "general_practitioner" in professions.matching_codes("généraliste")
        assert professions.matching_codes("  ") == []


# ---- The migration ---------------------------------------------------------------------

def _migration():
    path = ROOT / "migrations" / "versions" / "0009_profession_codes.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_keeps_the_same_words_as_the_app():
    migration = _migration()
    assert migration.WORDS == professions.SYNONYMS
    assert set(migration.ENGLISH) == set(professions.PROFESSIONS)


def test_the_migration_maps_known_words_and_keeps_other_text(tmp_path):
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    migration = _migration()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    before = {1: "Nurse", 2: "Infirmière", 3: "Médecin généraliste", 4: "Orthoptiste",
              5: None, 6: "Sage-femme", 7: "aide-soignante"}
    with engine.begin() as conn:
        for table in ("users", "invitations"):
            conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, "
                                 "profession VARCHAR(80))"))
            for row_id, value in before.items():
                conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :p)"),
                             {"i": row_id, "p": value})

    def rows(table):
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(f"SELECT id, profession FROM {table}")).all())

    def run(step):
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            step()

    run(migration.upgrade)
    expected = {1: "nurse", 2: "nurse", 3: "general_practitioner", 4: "Orthoptiste", 5: None,
                6: "midwife", 7: "care_assistant"}
    assert rows("users") == expected and rows("invitations") == expected
    run(migration.downgrade)
    assert rows("users") == {1: "Nurse", 2: "Nurse", 3: "General practitioner",
                             4: "Orthoptiste", 5: None, 6: "Midwife", 7: "Care assistant"}
    engine.dispose()
