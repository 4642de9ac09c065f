"""A patient who moves (or changes the zone in "Me") keeps "08:00" at 08:00 where they now live:
reminders follow the account's time zone; what was already sent or taken stays as it was."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.agenda.helpers import make_reminder
from webapp.agenda import reminders, services, worker
from webapp.agenda.models import Delivery, Reminder
from webapp.errors import UserError
from webapp.extensions import db

CREATED = datetime(2026, 3, 10, 6, 0)  # UTC
FIRST = datetime(2026, 3, 10, 7, 0)    # 08:00 in Paris (UTC+1)
NEW_YORK = "America/New_York"


def utc_of(day, hour, zone) -> datetime:
    local = datetime.combine(day, time(hour, 0), tzinfo=ZoneInfo(zone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def pending(kind="reminder") -> list[datetime]:
    return sorted(db.session.scalars(select(Delivery.occurrence_at).where(
        Delivery.kind == kind, Delivery.status == "pending")))


@pytest.fixture
def daily(ctx, people):
    patient = people.get("patient")
    return make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")


def test_future_occurrences_follow_the_new_zone_and_the_sent_one_stays(daily, people):
    patient, relative = people.get("patient"), people.get("relative")
    services.watch(relative, daily, 60, now=CREATED)
    worker.tick(FIRST)  # 08:00 Paris is sent (recorded as undelivered: no device)
    moved_at = FIRST + timedelta(hours=1)

    patient.timezone = NEW_YORK
    assert reminders.follow_patient_timezone(patient, old="Europe/Paris", new=NEW_YORK,
                                             now=moved_at) == 1
    db.session.commit()

    assert db.session.get(Reminder, daily.id).timezone == NEW_YORK
    ny_today = utc_of(FIRST.date(), 8, NEW_YORK)  # 12:00 UTC (New York is on summer time)
    assert pending()[:2] == [ny_today, ny_today + timedelta(days=1)]
    assert utc_of(FIRST.date() + timedelta(days=1), 8, "Europe/Paris") not in pending()
    # The relative's alerts move with the doses they watch; the one for the 08:00 Paris dose,
    # already due, is kept.
    assert pending("watch")[:2] == [FIRST, ny_today]
    # What was already sent stays as the record.
    sent = db.session.scalar(select(Delivery.status).where(
        Delivery.kind == "reminder", Delivery.occurrence_at == FIRST))
    assert sent == "undelivered"
    # The page lists the next occurrences at 08:00 New York time.
    upcoming = services.entries_between(patient, moved_at, moved_at + timedelta(days=2),
                                        NEW_YORK)
    assert {e.local.time() for e in upcoming if e.kind == "reminder"} == {time(8, 0)}


def test_taken_on_a_notification_sent_before_the_move_still_counts(daily, people):
    patient = people.get("patient")
    worker.tick(FIRST)
    patient.timezone = NEW_YORK
    reminders.follow_patient_timezone(patient, new=NEW_YORK, now=FIRST + timedelta(minutes=5))
    db.session.commit()
    dose = services.record_dose(patient, daily, FIRST, via="push",
                                now=FIRST + timedelta(minutes=10))
    assert dose.occurrence_at == FIRST
    # A time the reminder never announced is still refused.
    with pytest.raises(UserError):
        services.record_dose(patient, daily, FIRST + timedelta(hours=2), via="push",
                             now=FIRST + timedelta(minutes=10))


def test_changing_the_zone_in_me_moves_the_patients_reminders(app, client, login, people):
    with app.app_context(), app.test_request_context():
        patient = people.get("patient")
        now = services.utcnow()
        reminder_id = make_reminder(patient, patient, now, start=f"{now:%Y-%m-%d}",
                                    times="08:00").id
        other = make_reminder(people.get("relative"), patient, now, times="21:00").id
    with app.app_context():
        login(client, people.get("patient"))
    response = client.post("/accounts/me/settings", data={
        "display_name": "Jeanne Test", "language": "en", "timezone": NEW_YORK, "theme": "auto"})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    with app.app_context():
        rows = db.session.scalars(select(Reminder).where(Reminder.id.in_([reminder_id, other])))
        assert {r.timezone for r in rows} == {NEW_YORK}
        due = pending()
        assert due and all(
            datetime.combine(d.date(), d.time(), tzinfo=ZoneInfo("UTC"))
            .astimezone(ZoneInfo(NEW_YORK)).time() in (time(8, 0), time(21, 0)) for d in due)
    # The form says which zone the times are in and that they follow it.
    html = client.get(f"/agenda/reminders/{reminder_id}/edit").get_data(as_text=True)
    assert ("In your time zone (United States (New York)). If you change it, the reminder "
            "follows.") in html


def test_a_relative_sees_whose_zone_the_times_are_in(app, client, login, people):
    with app.app_context():
        login(client, people.get("relative"))
    html = client.get("/agenda/reminders/new").get_data(as_text=True)
    assert "In Jeanne Test’s time zone (France (Paris)). If it changes, the reminder follows it." \
        in html


def test_a_relative_abroad_is_told_which_zone_an_appointments_times_are_in(app, client, login,
                                                                          people):
    """Claire lives in Montreal and books her mother's visit in Lyon: the form says the times
    she types are Montreal's, and the appointment shows her the time on her mother's clock.
    Each zone is named as people say it, never "Europe/Paris"."""
    with app.app_context(), app.test_request_context():
        relative, patient = people.get("relative"), people.get("patient")
        relative.timezone = "America/Montreal"
        db.session.commit()
        appointment_id = services.create_appointment(
            patient, patient, services.AppointmentInput(
                title="Cardiologue", starts="2036-06-10T10:30", ends="2036-06-10T11:00")).id
        reminder_id = make_reminder(patient, patient, services.utcnow()).id
        login(client, relative)
    form = client.get("/agenda/appointments/new").get_data(as_text=True)
    assert ("Times are in your time zone (Canada (Montreal)). Jeanne Test’s time zone: "
            "France (Paris).") in form
    assert 'aria-describedby="times-zone"' in form
    page = client.get(f"/agenda/appointments/{appointment_id}").get_data(as_text=True)
    assert "04:30" in page  # her own clock
    assert ("In your time zone (Canada (Montreal)). For Jeanne Test: Tuesday 10 June, "
            "10:30 – 11:00 (France (Paris)).") in page
    reminder = client.get(f"/agenda/reminders/{reminder_id}").get_data(as_text=True)
    assert "(France (Paris))" in reminder and "Europe/Paris" not in reminder


def test_someone_in_the_patients_zone_gets_no_zone_hint(app, client, login, people):
    with app.app_context():
        login(client, people.get("patient"))
    form = client.get("/agenda/appointments/new").get_data(as_text=True)
    assert "Times are in your time zone" not in form and 'id="times-zone"' not in form
