"""Back to a deleted appointment or reminder: 410 "was deleted" with the way back to the agenda
for whoever may read that patient's agenda; the plain 404 for anyone else and for an id that
never was, so nothing is told about other patients' agendas."""

from __future__ import annotations

import pytest

from tests import factories
from tests.agenda.helpers import appointment_input, make_reminder
from tests.csrf import token_in
from webapp.agenda import services
from webapp.extensions import db

HX = {"HX-Request": "true"}


def signed_in(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


@pytest.fixture
def deleted(app, people):
    """An appointment and a reminder of the patient, both deleted by the patient: their urls."""
    with app.app_context(), app.test_request_context():
        patient = people.get("patient")
        appt = services.create_appointment(patient, patient,
                                           appointment_input(starts="2031-01-02T10:00",
                                                             ends="2031-01-02T11:00"))
        reminder = make_reminder(patient, patient, services.utcnow())
        urls = (f"/agenda/appointments/{appt.id}", f"/agenda/reminders/{reminder.id}")
        services.delete_appointment(patient, appt)
        services.delete_reminder(patient, reminder)
        return urls


@pytest.mark.parametrize("who", ["patient", "relative", "pro"])
def test_whoever_reads_the_agenda_is_told_it_was_deleted(app, login, people, deleted, who):
    with app.app_context():
        client = signed_in(app, login, people.get(who))
    for url, message in zip(deleted, ("This appointment was deleted.",
                                      "This reminder was deleted."), strict=True):
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 410
        assert "<html" in html and message in html and 'href="/agenda/"' in html
        assert "does not exist" not in html
        fragment = client.get(url, headers=HX)
        text = fragment.get_data(as_text=True)
        assert fragment.status_code == 410 and "<html" not in text
        assert text.lstrip().startswith('<section id="deleted"') and message in text


@pytest.mark.parametrize("who", ["outsider", "other_pro"])
def test_anyone_else_gets_the_plain_not_found(app, login, people, deleted, who):
    with app.app_context():
        client = signed_in(app, login, people.get(who))
    for url in deleted:
        page = client.get(url)
        html = page.get_data(as_text=True)
        assert page.status_code == 404
        assert "was deleted" not in html and "does not exist" in html


def _without_csrf(response) -> str:
    html = response.get_data(as_text=True)
    token = token_in(html)
    return html.replace(token, "<csrf>") if token else html


def test_another_patient_learns_nothing(app, login, people, deleted):
    with app.app_context():
        other = factories.user("patient", display_name="Other Patient", language="en")
        client = signed_in(app, login, other)
    for url, never in zip(deleted, ("/agenda/appointments/987654", "/agenda/reminders/987654"),
                          strict=True):
        page, missing = client.get(url), client.get(never)
        assert page.status_code == missing.status_code == 404
        # Word for word the answer for an id that never was (but for the CSRF token, signed
        # with the second it was made in: two requests may straddle one).
        assert _without_csrf(page) == _without_csrf(missing)


def test_an_id_that_never_was_is_the_plain_not_found(app, login, people, deleted):
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
    for url in ("/agenda/appointments/987654", "/agenda/reminders/987654"):
        page = client.get(url)
        assert page.status_code == 404 and "does not exist" in page.get_data(as_text=True)


def test_an_access_that_ended_is_no_longer_told(app, login, people, deleted):
    from webapp.circle import services as circle

    with app.app_context():
        patient = people.get("patient")
        circle.revoke_grant(patient, circle.active_grant(patient.id, people.relative_id).id)
        db.session.commit()
        client = signed_in(app, login, people.get("relative"))
    assert client.get(deleted[0]).status_code == 404


def test_actions_on_a_deleted_item_say_so_too(app, login, people, deleted):
    appointment_url, reminder_url = deleted
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
    assert client.get(f"{appointment_url}/edit").status_code == 410
    taken = client.post(f"{reminder_url}/taken", data={"occurrence": "2031-01-01T07:00:00"},
                        headers=HX)
    assert taken.status_code == 410 and "This reminder was deleted." in taken.get_data(
        as_text=True)
    api = client.get(appointment_url, headers={"Accept": "application/json"})
    assert api.status_code == 410 and api.get_json() == {
        "error": "This appointment was deleted."}


def test_the_deleted_page_reads_french(app, login, people, deleted):
    with app.app_context():
        patient = people.get("patient")
        patient.language = "fr"
        db.session.commit()
        client = signed_in(app, login, patient)
    html = client.get(deleted[0]).get_data(as_text=True)
    assert "Ce rendez-vous a été supprimé." in html and "Retour à l’agenda" in html
