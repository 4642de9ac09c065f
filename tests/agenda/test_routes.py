"""Agenda screens and their fragments, bad input, the notification action endpoint."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.agenda.helpers import make_reminder
from webapp.agenda import services, worker
from webapp.agenda.models import Appointment, Delivery, Dose, Reminder
from webapp.audit import AccessEvent
from webapp.extensions import db

HX = {"HX-Request": "true"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def signed_in(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


@pytest.fixture
def patient_client(app, login, people):
    with app.app_context():
        return signed_in(app, login, people.get("patient"))


def test_day_list_page_and_fragment(app, patient_client, people):
    page = patient_client.get("/agenda/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<html" in html and 'id="agenda-days"' in html and "Today" in html
    assert "Nothing planned for these seven days." in html
    fragment = patient_client.get("/agenda/?day=2026-03-29", headers=HX)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith('<section id="agenda-days"')
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]


def test_month_page_and_fragment(app, patient_client, people):
    with app.app_context():
        patient = people.get("patient")
        make_reminder(patient, patient, datetime(2026, 3, 1), start="2026-03-01",
                      times="08:00")
    page = patient_client.get("/agenda/month?m=2026-03")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="agenda-month"' in html
    assert "31 items" not in html and "1 item" in html
    fragment = patient_client.get("/agenda/month?m=2026-04", headers=HX)
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="agenda-month"')
    assert patient_client.get("/agenda/month?m=garbage").status_code == 200


def test_create_appointment_seals_text_and_schedules_reminders(app, patient_client):
    response = patient_client.post("/agenda/appointments", data={
        "title": "Cardiologue", "starts": "2030-05-10T14:30", "ends": "2030-05-10T15:00",
        "place": "Clinique du Parc", "notes": "Apporter l'ECG", "offsets_sent": "1",
        "offsets": ["1440", "60"]}, headers=HX)
    assert response.status_code == 204
    assert "/agenda/appointments/" in response.headers["HX-Redirect"]
    with app.app_context():
        appt = db.session.scalar(select(Appointment))
        assert appt.title == "Cardiologue" and appt.place == "Clinique du Parc"
        assert b"Cardiologue" not in appt.title_sealed and b"Parc" not in appt.place_sealed
        assert appt.starts_at == datetime(2030, 5, 10, 12, 30)  # Paris summer time
        assert count(Delivery) == 2
    detail = patient_client.get(response.headers["HX-Redirect"])
    assert "Cardiologue" in detail.get_data(as_text=True)
    fragment = patient_client.get(response.headers["HX-Redirect"], headers=HX)
    assert fragment.get_data(as_text=True).lstrip().startswith('<article id="appointment"')


@pytest.mark.parametrize("fields, message", [
    ({"title": "X", "starts": "2030-05-10T15:00", "ends": "2030-05-10T14:00"},
     "The end is before the start."),
    ({"title": "", "starts": "2030-05-10T15:00"}, "Please give a title."),
    ({"title": "X", "starts": "not a date"}, "is not a date and time"),
    ({"title": "X", "starts": "2030-05-10T15:00", "offsets_sent": "1", "offsets": "999999"},
     "between 0 minutes and 30 days"),
    ({"title": "X", "starts": "2030-05-10T15:00", "offsets_sent": "1", "offsets": "-5"},
     "between 0 minutes and 30 days"),
    ({"title": "X", "starts": "2030-05-10T15:00", "offsets_sent": "1", "offsets": "abc"},
     "is not a number of minutes"),
    ({"title": "X" * 201, "starts": "2030-05-10T15:00"}, "too long"),
    ({"title": "X", "starts": "2030-05-10T15:00", "professional_id": "999999"},
     "not in the care circle"),
    ({"title": "X", "starts": "2030-05-10T15:00", "ends": "2030-06-10T15:00"},
     "at most 7 days"),
    ({"title": "X", "starts": "2020-01-15T10:00"}, "already passed"),
    # 31 March 2030 in Paris: 02:00 becomes 03:00, so 02:30 never happens.
    ({"title": "X", "starts": "2030-03-31T02:30", "ends": "2030-03-31T03:30"},
     "02:30 does not exist on that day"),
])
def test_bad_appointment_input_is_refused_and_nothing_stored(app, patient_client, fields,
                                                             message):
    for headers in (HX, {}):
        response = patient_client.post("/agenda/appointments", data=fields, headers=headers)
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert message in html and 'role="alert"' in html
        assert ("<html" in html) == (headers == {})
    with app.app_context():
        assert count(Appointment) == 0 and count(Delivery) == 0


def test_professional_of_another_patient_cannot_be_chosen(app, patient_client, people):
    with app.app_context():
        other_pro = people.get("other_pro")  # in the circle, but without the agenda scope
    response = patient_client.post("/agenda/appointments", data={
        "title": "X", "starts": "2030-05-10T15:00", "professional_id": str(other_pro.id)})
    assert response.status_code == 422
    with app.app_context():
        assert count(Appointment) == 0


@pytest.mark.parametrize("fields, message", [
    ({"mode": "rrule", "rrule": "FREQ=SECONDLY"}, "every second or every minute"),
    ({"mode": "rrule", "rrule": "FREQ=DAILY;COUNT=100000"}, "COUNT must be between"),
    ({"mode": "rrule", "rrule": "FREQ=NEVER"}, "unknown frequency"),
    ({"mode": "rrule", "rrule": "FREQ=DAILY", "start": "yesterday"}, "start date"),
    ({"freq": "weekly"}, "at least one day of the week"),
    ({"times": "25:61"}, "is not a time"),
    ({"until": "2026-01-01"}, "end date is before the start date"),
    ({"kind": "poison"}, "what kind of reminder"),
    ({"title": ""}, "Please give a title."),
])
def test_bad_reminder_input_is_refused_and_nothing_stored(app, patient_client, fields,
                                                          message):
    data = {"kind": "medication", "title": "Doliprane", "mode": "builder", "freq": "daily",
            "times": "08:00", "start": "2026-03-01"}
    data.update(fields)
    response = patient_client.post("/agenda/reminders", data=data, headers=HX)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert count(Reminder) == 0 and count(Delivery) == 0


def test_create_reminder_with_builder_then_view_and_take_a_dose(app, patient_client):
    response = patient_client.post("/agenda/reminders", data={
        "kind": "medication", "title": "Kardegic 75", "mode": "builder", "freq": "daily",
        "times": ["08:00", "20:00", ""], "start": "2026-01-01"})
    assert response.status_code == 302
    with app.app_context():
        reminder = db.session.scalar(select(Reminder))
        assert reminder.rrule == "RRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0"
        assert b"Kardegic" not in reminder.title_sealed
    page = patient_client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Every day · 08:00, 20:00" in html
    with app.app_context():
        from webapp.agenda import recurrence

        occ = recurrence.next_occurrences(reminder.rrule, reminder.dtstart, reminder.timezone,
                                          services.utcnow(), 1)[0]
    taken = patient_client.post(f"/agenda/reminders/{reminder.id}/taken",
                                data={"occurrence": occ.isoformat()}, headers=HX)
    assert taken.status_code == 200 and "Taken at " in taken.get_data(as_text=True)
    again = patient_client.post(f"/agenda/reminders/{reminder.id}/taken",
                                data={"occurrence": occ.isoformat()}, headers=HX)
    assert again.status_code == 200
    with app.app_context():
        assert count(Dose) == 1
    invented = patient_client.post(f"/agenda/reminders/{reminder.id}/taken",
                                   data={"occurrence": (occ + timedelta(minutes=7)).isoformat()})
    assert invented.status_code == 400
    with app.app_context():
        assert count(Dose) == 1


def test_professional_proposes_and_patient_accepts(app, login, people):
    with app.app_context():
        pro_client = signed_in(app, login, people.get("pro"))
        patient_client = signed_in(app, login, people.get("patient"))
    response = pro_client.post("/agenda/appointments", data={
        "title": "Pansement", "starts": "2030-05-10T09:00"})
    assert response.status_code == 302
    with app.app_context():
        appt = db.session.scalar(select(Appointment))
        assert appt.status == "proposed" and appt.professional_id == people.pro_id
        assert count(Delivery) == 0
    assert "Waiting for your answer" in patient_client.get("/agenda/").get_data(as_text=True)
    # The professional cannot answer their own proposal.
    assert pro_client.post(f"/agenda/appointments/{appt.id}/respond",
                           data={"answer": "accept"}).status_code == 403
    answered = patient_client.post(f"/agenda/appointments/{appt.id}/respond",
                                   data={"answer": "accept"}, headers=HX)
    assert answered.status_code == 200 and "Proposed" not in answered.get_data(as_text=True)
    assert "You accepted this appointment: it is in your agenda." in answered.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Appointment, appt.id).status == "accepted"
        assert count(Delivery) == 2
    # A second answer (another tab, a double tap) shows the appointment as it now is, with why.
    again = patient_client.post(f"/agenda/appointments/{appt.id}/respond",
                                data={"answer": "decline"}, headers=HX)
    assert again.status_code == 409
    assert "already been answered" in again.get_data(as_text=True)
    assert 'flash--info" role="status">This proposal has already been answered' in again.get_data(
        as_text=True)  # said as information, not in the colours of a success
    assert 'id="appointment"' in again.get_data(as_text=True)
    assert "Attendance confirmed" in again.get_data(as_text=True)
    redirected = patient_client.post(f"/agenda/appointments/{appt.id}/respond",
                                     data={"answer": "accept"})
    assert redirected.status_code == 302
    assert "already been answered" in patient_client.get(
        redirected.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Appointment, appt.id).status == "accepted"


def test_declining_without_javascript_says_so_on_the_page_it_lands_on(app, login, people):
    with app.app_context():
        pro_client = signed_in(app, login, people.get("pro"))
        patient_client = signed_in(app, login, people.get("patient"))
    pro_client.post("/agenda/appointments", data={"title": "Pansement",
                                                  "starts": "2030-05-10T09:00"})
    with app.app_context():
        appt_id = db.session.scalar(select(Appointment.id))
    response = patient_client.post(f"/agenda/appointments/{appt_id}/respond",
                                   data={"answer": "decline"})
    assert response.status_code == 302
    landed = patient_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You declined this appointment." in landed


def test_outsider_sees_no_agenda_and_cannot_write(app, login, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
        outsider = signed_in(app, login, people.get("outsider"))
    page = outsider.get("/agenda/")
    assert page.status_code == 200 and "Choose whose agenda" in page.get_data(as_text=True)
    assert outsider.get(f"/agenda/reminders/{reminder_id}").status_code == 403
    assert outsider.post(f"/agenda/reminders/{reminder_id}/delete").status_code == 403
    with app.app_context():
        assert count(Reminder) == 1


def test_someone_acting_for_a_patient_without_the_agenda_scope_is_told_so_by_name(
        app, login, people):
    """A relative whose agenda access was removed (messages kept) still acts for the patient:
    the agenda page names who does not share it, instead of only "choose whose agenda"."""
    with app.app_context():
        messages_only = signed_in(app, login, people.get("other_pro"))
        outsider = signed_in(app, login, people.get("outsider"))
    page = messages_only.get("/agenda/").get_data(as_text=True)
    assert "Jeanne Test does not share their agenda with you at the moment." in page
    assert "does not share their agenda" not in outsider.get("/agenda/").get_data(as_text=True)


def test_every_access_by_someone_else_leaves_exactly_one_audit_row(app, login, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
        relative = signed_in(app, login, people.get("relative"))
        base = count(AccessEvent)

    def rows():
        with app.app_context():
            return count(AccessEvent) - base

    relative.get("/agenda/")
    assert rows() == 1
    relative.get("/agenda/month")
    assert rows() == 2
    relative.get(f"/agenda/reminders/{reminder_id}")
    assert rows() == 3
    relative.post(f"/agenda/reminders/{reminder_id}/watch", data={"delay": "30"})
    assert rows() == 4
    relative.post("/agenda/appointments", data={"title": "Dentist",
                                                "starts": "2030-01-02T10:00"})
    assert rows() == 5
    # A refused write leaves nothing.
    relative.post("/agenda/appointments", data={"title": "", "starts": "2030-01-02T10:00"})
    assert rows() == 5
    with app.app_context():
        last = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id.desc())).first()
        assert (last.actor_id, last.patient_id, last.object_type) == \
            (people.relative_id, people.patient_id, "appointment")
    # The patient's own reads are not history.
    with app.app_context():
        patient_client = signed_in(app, login, people.get("patient"))
    patient_client.get("/agenda/")
    assert rows() == 5


def test_relative_watches_and_unwatches(app, login, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
        relative = signed_in(app, login, people.get("relative"))
        pro = signed_in(app, login, people.get("pro"))
    bad = relative.post(f"/agenda/reminders/{reminder_id}/watch", data={"delay": "7"},
                        headers=HX)
    assert bad.status_code == 400
    ok = relative.post(f"/agenda/reminders/{reminder_id}/watch", data={"delay": "90"},
                       headers=HX)
    assert ok.status_code == 200 and "Stop watching" in ok.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.kind == "watch")) >= 1
    # Professionals do not watch.
    assert pro.post(f"/agenda/reminders/{reminder_id}/watch",
                    data={"delay": "60"}).status_code == 403
    relative.post(f"/agenda/reminders/{reminder_id}/unwatch")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.kind == "watch",
                                        Delivery.status == "pending")) == 0


def _due_delivery(app, people, kind="reminder"):
    with app.app_context():
        patient = people.get("patient")
        now = services.utcnow()
        reminder = make_reminder(patient, patient, now - timedelta(days=1),
                                 start=f"{now - timedelta(days=2):%Y-%m-%d}",
                                 times=f"{(now + timedelta(hours=1)):%H}:00")
        delivery = db.session.scalars(select(Delivery).where(Delivery.kind == kind)
                                      .order_by(Delivery.due_at)).first()
        return reminder.id, delivery.id, delivery.occurrence_at, worker.action_token(delivery.id)


def test_notification_action_taken_records_the_dose_without_csrf(app, client, people,
                                                                  csrf_enabled):
    reminder_id, delivery_id, occurrence, token = _due_delivery(app, people)
    response = client.post("/agenda/actions", json={"action": "taken", "token": token})
    assert response.status_code == 200 and response.get_json()["ok"] is True
    with app.app_context():
        dose = db.session.scalar(select(Dose))
        assert (dose.reminder_id, dose.occurrence_at, dose.via) == \
            (reminder_id, occurrence, "push")
    # Replayed: still one dose.
    client.post("/agenda/actions", json={"action": "taken", "token": token})
    with app.app_context():
        assert count(Dose) == 1


@pytest.mark.parametrize("body", [
    {"action": "taken", "token": "forged"}, {"action": "explode", "token": None},
    {"action": "taken"}, [], "text",
])
def test_notification_action_refuses_bad_tokens(app, client, people, body):
    _due_delivery(app, people)
    response = client.post("/agenda/actions", json=body)
    assert response.status_code == 400
    with app.app_context():
        assert count(Dose) == 0


def test_notification_action_snooze(app, client, people):
    _reminder_id, _delivery_id, _occ, token = _due_delivery(app, people)
    response = client.post("/agenda/actions", json={"action": "snooze", "token": token})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.kind == "snooze")) == 1


def test_delete_appointment_and_reminder(app, patient_client, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
    assert patient_client.post(f"/agenda/reminders/{reminder_id}/delete").status_code == 302
    with app.app_context():
        assert count(Reminder) == 0 and count(Delivery) == 0


def test_with_whom_free_text_is_sealed_and_kept(app, patient_client):
    patient_client.post("/agenda/appointments", data={
        "title": "Kiné", "starts": "2030-05-10T14:30", "with_text": "M. Dupont, kinésithérapeute"})
    with app.app_context():
        appt = db.session.scalar(select(Appointment))
        assert appt.with_text == "M. Dupont, kinésithérapeute"
        assert appt.with_sealed and b"Dupont" not in appt.with_sealed


def test_detail_edit_and_calendar_pages_with_and_without_htmx(app, patient_client, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
    response = patient_client.post("/agenda/appointments", data={
        "title": "Kiné", "starts": "2030-05-10T14:30"})
    appointment_url = response.headers["Location"]
    pages = {
        f"/agenda/reminders/{reminder_id}": '<article id="reminder"',
        f"/agenda/reminders/{reminder_id}/edit": '<form id="reminder-form"',
        "/agenda/reminders/new": '<form id="reminder-form"',
        appointment_url + "/edit": '<form id="appointment-form"',
        "/agenda/appointments/new": '<form id="appointment-form"',
        "/agenda/calendar": '<section id="calendar-feed"',
    }
    for url, root in pages.items():
        full = patient_client.get(url)
        assert full.status_code == 200, url
        assert "<html" in full.get_data(as_text=True) and root in full.get_data(as_text=True)
        fragment = patient_client.get(url, headers=HX).get_data(as_text=True)
        assert fragment.lstrip().startswith(root), url


def test_editing_a_reminder_keeps_its_rule_and_rebuilds_future_deliveries(app, patient_client,
                                                                          people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
    response = patient_client.post(f"/agenda/reminders/{reminder_id}/edit", data={
        "kind": "medication", "title": "Doliprane 500", "mode": "rrule",
        "rrule": "FREQ=DAILY;BYHOUR=9;BYMINUTE=30", "start": "2026-03-01"})
    assert response.status_code == 302
    with app.app_context():
        reminder = db.session.get(Reminder, reminder_id)
        assert reminder.title == "Doliprane 500"
        pending = db.session.scalars(select(Delivery.due_at).where(
            Delivery.reminder_id == reminder_id, Delivery.status == "pending")).all()
        assert pending and {services_local_minute(d) for d in pending} == {(9, 30)}
    bad = patient_client.post(f"/agenda/reminders/{reminder_id}/edit", data={
        "kind": "medication", "title": "Doliprane 500", "mode": "rrule",
        "rrule": "FREQ=MINUTELY", "start": "2026-03-01"})
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.get(Reminder, reminder_id).rrule == \
            "RRULE:FREQ=DAILY;BYHOUR=9;BYMINUTE=30"


def services_local_minute(utc):
    from webapp.agenda import recurrence

    local = recurrence.to_local(utc, "Europe/Paris")
    return local.hour, local.minute


def test_a_reminder_made_with_the_simple_form_is_edited_in_it(app, patient_client, people):
    with app.app_context():
        patient = people.get("patient")
        reminder_id = make_reminder(patient, patient, services.utcnow(), freq="weekly",
                                    weekdays=["TU", "SA"], times="07:45").id
    html = patient_client.get(f"/agenda/reminders/{reminder_id}/edit").get_data(as_text=True)
    assert 'value="builder" checked' in html
    assert 'id="time-0" name="times" value="07:45"' in html
    assert 'value="TU" checked' in html and 'value="SA" checked' in html
    assert 'value="MO" checked' not in html


def test_appointment_and_reminder_pages_offer_edit_and_a_confirmed_delete(app, patient_client,
                                                                          people):
    with app.app_context(), app.test_request_context():
        patient = people.get("patient")
        appt = services.create_appointment(
            patient, patient, services.AppointmentInput(title="Dentist",
                                                        starts="2030-01-10T10:00"))
        rem = make_reminder(patient, patient, services.utcnow())
        pages = {f"/agenda/appointments/{appt.id}": (
                     f"/agenda/appointments/{appt.id}/edit",
                     f"/agenda/appointments/{appt.id}/delete",
                     "Delete this appointment? Its reminders will not be sent."),
                 f"/agenda/reminders/{rem.id}": (
                     f"/agenda/reminders/{rem.id}/edit", f"/agenda/reminders/{rem.id}/delete",
                     "Delete this reminder and its history?")}
    for url, (edit, delete, question) in pages.items():
        html = patient_client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert f'href="{edit}"' in html and f'action="{delete}"' in html
        assert f'data-confirm="{question}"' in html
        assert patient_client.post(delete).status_code in (302, 303)
        assert patient_client.get(url).status_code == 410  # deleted (test_deleted.py)


def test_relative_asks_for_an_appointments_reminders_and_stops(app, login, people):
    from tests.agenda.helpers import appointment_input

    with app.app_context():
        patient = people.get("patient")
        start = (services.utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")
        end = start[:-5] + "11:00"
        appointment_id = services.create_appointment(
            patient, patient, appointment_input(starts=start, ends=end)).id
        relative = signed_in(app, login, people.get("relative"))
        patient_client = signed_in(app, login, patient)

    def relative_reminders(status="pending"):
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.appointment_id == appointment_id,
                Delivery.recipient_id == people.relative_id, Delivery.status == status))

    page = relative.get(f"/agenda/appointments/{appointment_id}").get_data(as_text=True)
    assert "Remind me too" in page and "Get the same reminders as Jeanne Test" in page
    # The patient is reminded anyway: no such button for them.
    own = patient_client.get(f"/agenda/appointments/{appointment_id}").get_data(as_text=True)
    assert "Remind me too" not in own

    ok = relative.post(f"/agenda/appointments/{appointment_id}/watch", headers=HX)
    html = ok.get_data(as_text=True)
    assert ok.status_code == 200 and html.lstrip().startswith('<article id="appointment"')
    assert "You will get this appointment&#39;s reminders too." in html
    assert "Stop reminding me" in html and "Claire Test" in html  # "Also reminded"
    assert relative_reminders() == 2
    assert "Claire Test" in patient_client.get(
        f"/agenda/appointments/{appointment_id}").get_data(as_text=True)

    # Without JavaScript: the whole page.
    stopped = relative.post(f"/agenda/appointments/{appointment_id}/unwatch")
    assert stopped.status_code == 200 and "<html" in stopped.get_data(as_text=True)
    assert "Remind me too" in stopped.get_data(as_text=True)
    assert relative_reminders() == 0
    with app.app_context():
        actions = db.session.scalars(select(AccessEvent.action).where(
            AccessEvent.object_type == "appointment",
            AccessEvent.actor_id == people.relative_id)).all()
    assert {"watch", "unwatch"} <= set(actions)


def test_a_relative_booking_an_appointment_is_reminded_too_unless_unticked(
        app, login, people, patient_client):
    from webapp.agenda.models import AppointmentWatch

    with app.app_context():
        relative = signed_in(app, login, people.get("relative"))
    form = relative.get("/agenda/appointments/new").get_data(as_text=True)
    assert 'name="remind_me" value="1" checked' in form
    assert 'name="remind_me"' not in patient_client.get("/agenda/appointments/new").get_data(
        as_text=True)
    fields = {"title": "Dentiste", "starts": "2030-05-10T14:30", "ends": "2030-05-10T15:00",
              "offsets_sent": "1", "offsets": ["1440", "60"]}

    booked = relative.post("/agenda/appointments", data={**fields, "remind_me": "1"}, headers=HX)
    assert booked.status_code == 204
    unticked = relative.post("/agenda/appointments", data=fields, headers=HX)
    assert unticked.status_code == 204
    with app.app_context():
        first, second = db.session.scalars(select(Appointment).order_by(Appointment.id)).all()
        assert [w.watcher_id for w in first.watches] == [people.relative_id]
        assert second.watches == []
        recipients = db.session.scalars(select(Delivery.recipient_id).where(
            Delivery.appointment_id == first.id)).all()
        assert sorted(recipients) == sorted([people.patient_id, people.relative_id] * 2)

    # The patient is reminded anyway; asking for it anyway is refused and creates nothing.
    with app.app_context():
        before = count(Appointment)
    refused = patient_client.post("/agenda/appointments", data={**fields, "remind_me": "1"})
    assert refused.status_code == 403
    with app.app_context():
        assert count(Appointment) == before and count(AppointmentWatch) == 1


def test_creating_editing_and_deleting_say_it_is_done(app, patient_client):
    def flashed(response):
        assert response.status_code == 302
        return patient_client.get(response.headers["Location"]).get_data(as_text=True)

    created = patient_client.post("/agenda/appointments", data={
        "title": "Kiné", "starts": "2030-05-10T14:30"})
    url = created.headers["Location"]
    assert "The appointment is in the agenda." in flashed(created)
    edited = patient_client.post(url + "/edit",
                                 data={"title": "Kiné", "starts": "2030-05-10T15:00"})
    assert "Changes saved." in flashed(edited)
    assert "The appointment is deleted." in flashed(patient_client.post(url + "/delete"))
    reminder = patient_client.post("/agenda/reminders", data={
        "title": "Doliprane", "kind": "medication", "start": "2030-05-01", "times": "08:00",
        "frequency": "daily"})
    assert "The reminder is set." in flashed(reminder)
    assert "The reminder is deleted." in flashed(
        patient_client.post(reminder.headers["Location"] + "/delete"))
    # HTMX: the same words, on the page the redirect leads to.
    boosted = patient_client.post("/agenda/appointments", data={
        "title": "Kiné", "starts": "2030-05-10T14:30"}, headers={"HX-Request": "true"})
    assert boosted.status_code in (200, 204, 302)
    page = patient_client.get("/agenda/").get_data(as_text=True)
    assert "The appointment is in the agenda." in page


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"])
def test_a_day_outside_the_years_in_the_url_shows_this_week(app, patient_client, day):
    """A hand-edited or stale ?day= (9999-12-31 overflowed the clock: a 500) shows today."""
    for headers in ({}, HX):
        response = patient_client.get(f"/agenda/?day={day}", headers=headers)
        assert response.status_code == 200
        assert 'aria-current="date"' in response.get_data(as_text=True)
