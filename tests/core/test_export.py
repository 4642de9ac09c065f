"""A patient downloads a copy of their space: one JSON file, recorded in their history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp import audit
from webapp.accounts.models import User
from webapp.audit import AccessEvent
from webapp.cli import DEMO_ACCOUNTS
from webapp.extensions import db

JEANNE, CLAIRE, NADIA = (next(a for a in DEMO_ACCOUNTS if a["email"].startswith(name))
                         for name in ("jeanne", "claire", "nadia"))


@pytest.fixture
def seeded(app):
    from webapp.agenda.models import Dose, Reminder
    from webapp.demo import seed_demo

    with app.app_context():
        seed_demo(DEMO_ACCOUNTS)
        reminder = db.session.scalar(select(Reminder))
        taken = datetime(2026, 11, 2, 7, 0)
        db.session.add(Dose(reminder_id=reminder.id, occurrence_at=taken,
                            recorded_at=taken + timedelta(minutes=5), via="push"))
        db.session.commit()


def sign_in(client, account):
    response = client.post("/accounts/sign-in", data={"email": account["email"],
                                                      "password": account["password"]})
    assert response.status_code == 302
    return client


def exports(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AccessEvent.id))
                                 .where(AccessEvent.action == "export"))


def test_the_patient_downloads_everything_in_her_space(app, client, seeded):
    sign_in(client, JEANNE)
    response = client.post("/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    today = datetime.now(UTC).date().isoformat()
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="health-space-{today}.json"')
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))

    assert data["format"] == "healthspace-export/1"
    assert data["account"]["email"] == JEANNE["email"]
    assert data["account"]["password_set"] is True
    grantees = {g["to"]["name"]: g["scopes"] for g in data["circle"]["access_given"]}
    assert grantees["Claire Martin"] == ["agenda", "documents", "messages", "summary"]
    assert "Nadia Benali" in grantees

    # Her care conversation, opened for her; not the professionals' own conversation.
    [care] = data["conversations"]
    assert care["subject"] == "Pansement de la jambe"
    assert [m["author"] for m in care["messages"]] == ["Nadia Benali", "Claire Martin",
                                                       "Nadia Benali"]
    assert care["messages"][1]["text"] == (
        "Merci Nadia, je serai là aussi. Maman a un peu mal ce soir.")
    assert care["messages"][1]["written_for"] == "Jeanne Martin"
    assert care["messages"][0]["at"].endswith("Z")
    assert "Relais de soins" not in response.get_data(as_text=True)

    titles = [a["title"] for a in data["appointments"]]
    assert "Consultation de suivi" in titles
    [kardegic] = [r for r in data["reminders"] if r["title"] == "Kardégic 75 mg"]
    assert kardegic["time_zone"] == "Europe/Paris"
    assert kardegic["doses_taken"] == [{"due_at": "2026-11-02T07:00:00Z",
                                        "taken_at": "2026-11-02T07:05:00Z", "via": "push"}]
    # What others did in her space (Nadia and Claire wrote): in her access history.
    assert {"Nadia Benali", "Claire Martin"} <= {e["who"] for e in data["access_history"]}


def test_no_secret_leaves_with_the_file(app, client, seeded):
    sign_in(client, JEANNE)
    text = client.post("/export").get_data(as_text=True)
    with app.app_context():
        jeanne = db.session.scalar(select(User).filter_by(email=JEANNE["email"]))
        secrets = [jeanne.password_hash, jeanne.session_token, jeanne.webauthn_handle.hex()]
    for secret in secrets:
        assert secret not in text
    for key in ("password_hash", "session_token", "credential_id", "public_key", "_sealed"):
        assert key not in text


def test_the_export_is_in_her_own_history(app, client, seeded):
    sign_in(client, JEANNE)
    assert exports(app) == 0
    client.post("/export")
    assert exports(app) == 1
    page = client.get("/circle/activity?tab=mine").get_data(as_text=True)
    assert "Vous avez exporté votre espace" in page  # Jeanne reads French


@pytest.mark.parametrize("account", [CLAIRE, NADIA])
def test_nobody_else_may_export_the_space(app, client, seeded, account):
    sign_in(client, account)
    assert client.post("/export").status_code == 403
    assert exports(app) == 0
    assert 'id="export-space"' not in client.get("/accounts/me").get_data(as_text=True)


def test_an_old_sign_in_is_checked_again_first(app, client, seeded):
    sign_in(client, JEANNE)
    assert 'id="export-space"' in client.get("/accounts/me").get_data(as_text=True)
    with client.session_transaction() as session:
        session["auth_at"] = 0
    response = client.post("/export", headers={"Referer": "http://localhost/accounts/me"})
    assert response.status_code == 302
    reauth = response.headers["Location"]
    assert reauth == "/accounts/reauth?next=/accounts/me&again=download"
    assert exports(app) == 0
    # Once confirmed she is back on Me, told she can download now (not "your change").
    confirmed = client.post(reauth, data={"password": JEANNE["password"]})
    assert confirmed.headers["Location"] == "/accounts/me"
    page = client.get("/accounts/me").get_data(as_text=True)
    assert "Vous pouvez maintenant télécharger vos données." in page
    assert "Refaites votre modification" not in page


def test_signed_out_goes_to_sign_in(client):
    response = client.post("/export")
    assert response.status_code == 302
    assert "/accounts/sign-in" in response.headers["Location"]


def test_a_failure_halfway_sends_no_file_and_records_nothing(app, client, seeded, monkeypatch):
    from webapp.core import export

    def broken(patient):
        yield {"ok": 1}
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(export.SECTIONS, "conversations", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    sign_in(client, JEANNE)
    response = client.post("/export")
    assert response.status_code == 500
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert exports(app) == 0


def test_the_history_is_read_in_pages_oldest_first(app, seeded):
    with app.app_context():
        jeanne = db.session.scalar(select(User).filter_by(email=JEANNE["email"]))
        nadia = db.session.scalar(select(User).filter_by(email=NADIA["email"]))
        for n in range(7):
            audit.record(nadia, jeanne, "read", "appointment", n)
        db.session.commit()
        expected = db.session.scalars(
            select(AccessEvent.id).where(AccessEvent.patient_id == jeanne.id)
            .order_by(AccessEvent.at, AccessEvent.id)).all()
        assert len(expected) > 7
        assert [e.id for e in audit.all_of(jeanne.id, page=3)] == expected


def test_a_long_section_is_written_in_pieces_with_pauses_for_the_other_sockets(
        app, seeded, monkeypatch):
    from webapp.core import export
    from webapp.extensions import socketio

    pauses = []
    monkeypatch.setattr(socketio, "sleep", lambda seconds=0: pauses.append(seconds))
    monkeypatch.setitem(export.SECTIONS, "numbers", lambda patient: (
        {"n": n, "squares": (k * k for k in range(n % 3))} for n in range(120)))
    monkeypatch.setitem(export.SECTIONS, "nested", lambda patient: {
        "plain": [{"a": 1}], "deep": [{"b": (x for x in "xy")}]})
    with app.app_context():
        jeanne = db.session.scalar(select(User).filter_by(email=JEANNE["email"]))
        pieces = list(export.write(jeanne, datetime(2026, 11, 29, 8, 0)))
    data = json.loads("".join(pieces))
    assert data["exported_at"] == "2026-11-29T08:00:00Z"
    assert data["numbers"][2] == {"n": 2, "squares": [0, 1]}
    assert len(data["numbers"]) == 120
    assert data["nested"] == {"plain": [{"a": 1}], "deep": [{"b": ["x", "y"]}]}
    assert len(pauses) >= 2  # every 50 items of a long list
    assert len(pieces) > 120  # never one big string


def test_messages_are_read_page_after_page_in_order(app, client, seeded, monkeypatch):
    from webapp.chat import export as chat_export

    monkeypatch.setattr(chat_export, "PAGE", 2)  # three messages: two pages
    sign_in(client, JEANNE)
    [care] = json.loads(client.post("/export").get_data(as_text=True))["conversations"]
    assert [m["text"][:12] for m in care["messages"]] == [
        "Bonjour Jean", "Merci Nadia,", "D'accord, je"]
