"""Undoing a "Taken" tapped by mistake: services with a controlled clock (who, until when, bad
input changes nothing, the history), the watcher's alert and the worker, then the routes with
and without htmx."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.agenda.helpers import make_reminder
from webapp.agenda import recurrence, services, worker
from webapp.agenda.models import Delivery, Dose
from webapp.audit import AccessEvent
from webapp.errors import Conflict, Forbidden
from webapp.extensions import db

CREATED = datetime(2026, 3, 10, 6, 0)  # UTC; Paris is UTC+1 until 29 March
FIRST = datetime(2026, 3, 10, 7, 0)    # 08:00 in Paris
HX = {"HX-Request": "true"}


def minutes(n: int) -> datetime:
    return FIRST + timedelta(minutes=n)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def status(kind: str, occurrence: datetime = FIRST) -> str | None:
    return db.session.scalar(select(Delivery.status).where(Delivery.kind == kind,
                                                           Delivery.occurrence_at == occurrence))


@pytest.fixture
def daily(ctx, people):
    patient = people.get("patient")
    return make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")


def watched(people, reminder, delay=60, at=CREATED):
    services.watch(people.get("relative"), reminder, delay, now=at)


# ---- The service ---------------------------------------------------------------------------

def test_undo_removes_the_dose_and_leaves_a_history_row(daily, people):
    patient = people.get("patient")
    services.record_dose(patient, daily, FIRST, now=minutes(2))
    services.undo_dose(patient, daily, FIRST, now=minutes(4))
    assert count(Dose) == 0
    row = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id.desc())).first()
    assert (row.action, row.object_type, row.object_id, row.actor_id) == \
        ("untaken", "medication", str(daily.id), patient.id)
    # Recorded again after the undo: a new "Taken" like any other.
    dose = services.record_dose(patient, daily, FIRST, now=minutes(6))
    assert dose.recorded_at == minutes(6)


@pytest.mark.parametrize("who", ["relative", "pro"])
def test_whoever_may_record_may_undo_for_the_patient(daily, people, who):
    actor = people.get(who)
    services.record_dose(people.get("patient"), daily, FIRST, now=minutes(2))
    services.undo_dose(actor, daily, FIRST, now=minutes(4))
    assert count(Dose) == 0
    row = db.session.scalars(select(AccessEvent).order_by(AccessEvent.id.desc())).first()
    assert (row.action, row.actor_id, row.on_behalf_of_id) == \
        ("untaken", actor.id, people.patient_id)


@pytest.mark.parametrize("who", ["outsider", "other_pro"])
def test_someone_without_the_agenda_cannot_undo(daily, people, who):
    services.record_dose(people.get("patient"), daily, FIRST, now=minutes(2))
    history = count(AccessEvent)
    with pytest.raises(Forbidden):
        services.undo_dose(people.get(who), daily, FIRST, now=minutes(4))
    db.session.rollback()
    assert count(Dose) == 1 and count(AccessEvent) == history


def test_a_dose_not_taken_and_a_second_undo_are_refused_and_change_nothing(daily, people):
    patient = people.get("patient")
    with pytest.raises(Conflict, match="not recorded as taken"):
        services.undo_dose(patient, daily, FIRST, now=minutes(4))
    db.session.rollback()
    services.record_dose(patient, daily, FIRST, now=minutes(2))
    services.undo_dose(patient, daily, FIRST, now=minutes(4))
    history, deliveries = count(AccessEvent), count(Delivery, Delivery.status == "pending")
    with pytest.raises(Conflict, match="nothing to undo"):
        services.undo_dose(patient, daily, FIRST, now=minutes(5))
    db.session.rollback()
    assert count(AccessEvent) == history
    assert count(Delivery, Delivery.status == "pending") == deliveries
    # An instant that is no occurrence at all: nothing was taken then either.
    with pytest.raises(Conflict):
        services.undo_dose(patient, daily, minutes(7), now=minutes(8))


def test_undo_is_open_until_the_end_of_the_patients_day(daily, people):
    patient = people.get("patient")
    dose = services.record_dose(patient, daily, FIRST, now=minutes(5))  # 08:05 in Paris
    midnight_paris = datetime(2026, 3, 10, 23, 0)
    assert services.undo_deadline(daily, dose) == midnight_paris
    assert services.dose_undoable(daily, dose, now=midnight_paris - timedelta(minutes=1))
    assert not services.dose_undoable(daily, dose, now=midnight_paris)
    with pytest.raises(Conflict, match="too late"):
        services.undo_dose(patient, daily, FIRST, now=midnight_paris)
    db.session.rollback()
    assert count(Dose) == 1


def test_a_tap_just_before_midnight_can_still_be_undone_for_the_window(daily, people):
    patient = people.get("patient")
    late_tap = datetime(2026, 3, 10, 22, 55)  # 23:55 in Paris
    dose = services.record_dose(patient, daily, FIRST, now=late_tap)
    assert services.undo_deadline(daily, dose) == late_tap + timedelta(minutes=60)
    services.undo_dose(patient, daily, FIRST, now=late_tap + timedelta(minutes=30))
    assert count(Dose) == 0


# ---- The watcher's alert and the worker -----------------------------------------------------

def test_undo_before_the_alert_is_due_means_the_alert_is_sent_when_due(daily, people):
    watched(people, daily)
    patient = people.get("patient")
    worker.tick(FIRST)
    services.record_dose(patient, daily, FIRST, now=minutes(5))
    assert status("watch") == "skipped"
    services.undo_dose(patient, daily, FIRST, now=minutes(20))
    assert status("watch") == "pending"
    assert worker.tick(minutes(59)).get("claimed", 0) == 0
    assert worker.tick(minutes(60))["claimed"] == 1
    db.session.expire_all()  # read as the worker left it
    alert = db.session.scalar(select(Delivery).where(Delivery.kind == "watch",
                                                      Delivery.occurrence_at == FIRST))
    assert alert.recipient_id == people.relative_id and alert.status == "undelivered"


def test_undo_after_the_alert_time_sends_the_alert_at_once(daily, people):
    watched(people, daily)
    patient = people.get("patient")
    worker.tick(FIRST)
    services.record_dose(patient, daily, FIRST, now=minutes(5))
    assert worker.tick(minutes(60)).get("claimed", 0) == 0  # the alert was not needed
    services.undo_dose(patient, daily, FIRST, now=minutes(90))
    # It is listed as sent only once it really goes out.
    assert "watch" not in [d.kind for d in services.deliveries_of(daily, now=minutes(90))]
    assert worker.tick(minutes(90))["claimed"] == 1
    assert status("watch") == "undelivered"


def test_undo_after_the_alerts_own_window_records_it_missed_not_sent(daily, people):
    watched(people, daily)
    patient = people.get("patient")
    worker.tick(FIRST)
    services.record_dose(patient, daily, FIRST, now=minutes(5))
    too_late = minutes(60) + services.WATCH_WINDOW + timedelta(minutes=1)
    services.undo_dose(patient, daily, FIRST, now=too_late)
    assert status("watch") == "missed"
    assert worker.tick(too_late).get("claimed", 0) == 0


def test_undo_of_an_early_tap_brings_the_patients_reminder_back(daily, people):
    patient = people.get("patient")
    services.record_dose(patient, daily, FIRST, now=minutes(-30))
    assert status("reminder") == "skipped"
    services.undo_dose(patient, daily, FIRST, now=minutes(-20))
    assert worker.tick(FIRST)["claimed"] == 1
    assert status("reminder") == "undelivered"


def test_a_watch_begun_while_the_dose_looked_taken_alerts_after_the_undo(daily, people):
    patient = people.get("patient")
    worker.tick(FIRST)
    services.record_dose(patient, daily, FIRST, now=minutes(5))
    watched(people, daily, at=minutes(10))
    assert status("watch") is None  # not planned: the dose looked taken
    services.undo_dose(patient, daily, FIRST, now=minutes(20))
    assert worker.tick(minutes(60))["claimed"] == 1
    assert status("watch") == "undelivered"


def test_what_was_settled_before_the_tap_stays_as_it_was(daily, people):
    watched(people, daily)
    patient = people.get("patient")
    worker.tick(FIRST)
    assert worker.tick(minutes(60))["claimed"] == 1  # the alert went out: no tap in time
    services.record_dose(patient, daily, FIRST, now=minutes(70))
    services.undo_dose(patient, daily, FIRST, now=minutes(75))
    assert status("watch") == "undelivered" and status("reminder") == "undelivered"
    assert count(Delivery, Delivery.kind == "watch", Delivery.occurrence_at == FIRST) == 1


# ---- Routes ---------------------------------------------------------------------------------

def signed_in(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


@pytest.fixture
def today_dose(app, people):
    """A daily reminder whose last occurrence has just passed (real clock): (id, occurrence)."""
    with app.app_context():
        patient = people.get("patient")
        now = services.utcnow()
        local = recurrence.to_local(now - timedelta(hours=1), "Europe/Paris")
        reminder = make_reminder(patient, patient, now,
                                 start=f"{local - timedelta(days=2):%Y-%m-%d}",
                                 times=f"{local:%H}:00")
        occ = recurrence.occurrences_between(reminder.rrule, reminder.dtstart, reminder.timezone,
                                             now - timedelta(days=2), now)[-1]
        return reminder.id, occ


def doses(app) -> int:
    with app.app_context():
        return count(Dose)


def test_taken_then_undo_with_htmx_swaps_the_same_fragment(app, login, people, today_dose):
    reminder_id, occ = today_dose
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
    key = f"taken-{reminder_id}-{occ:%Y%m%d%H%M}"
    taken = client.post(f"/agenda/reminders/{reminder_id}/taken",
                        data={"occurrence": occ.isoformat()}, headers=HX)
    html = taken.get_data(as_text=True)
    assert taken.status_code == 200 and html.lstrip().startswith(f'<span id="{key}"')
    assert "Taken at " in html and f'hx-post="/agenda/reminders/{reminder_id}/taken/undo"' in html
    assert f'id="{key}-button"' in html and ">Undo</button>" in html
    undone = client.post(f"/agenda/reminders/{reminder_id}/taken/undo",
                         data={"occurrence": occ.isoformat()}, headers=HX)
    html = undone.get_data(as_text=True)
    assert undone.status_code == 200 and html.lstrip().startswith(f'<span id="{key}"')
    assert "<html" not in html and "Taken at" not in html and "Not taken any more." in html
    # The same button id: htmx hands the focus to "Taken" again.
    assert f'id="{key}-button"' in html
    assert f'hx-post="/agenda/reminders/{reminder_id}/taken"' in html
    assert "HX-Request" in undone.headers["Vary"]
    assert doses(app) == 0


def test_taken_then_undo_without_javascript(app, login, people, today_dose):
    reminder_id, occ = today_dose
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
    taken = client.post(f"/agenda/reminders/{reminder_id}/taken",
                        data={"occurrence": occ.isoformat(), "next": "/agenda/"})
    assert taken.status_code == 302 and taken.headers["Location"] == "/agenda/"
    day = recurrence.to_local(occ, "Europe/Paris").date()
    page = client.get(f"/agenda/?day={day:%Y-%m-%d}").get_data(as_text=True)
    assert "Taken at " in page
    assert f'action="/agenda/reminders/{reminder_id}/taken/undo"' in page
    undone = client.post(f"/agenda/reminders/{reminder_id}/taken/undo",
                         data={"occurrence": occ.isoformat(), "next": "/agenda/"})
    assert undone.status_code == 302 and undone.headers["Location"] == "/agenda/"
    assert doses(app) == 0
    page = client.get(f"/agenda/?day={day:%Y-%m-%d}").get_data(as_text=True)
    assert "Undone: this dose is no longer recorded as taken." in page
    assert "Taken at " not in page
    assert f'action="/agenda/reminders/{reminder_id}/taken"' in page
    # Off-site "next" is ignored: back to the reminder.
    client.post(f"/agenda/reminders/{reminder_id}/taken", data={"occurrence": occ.isoformat()})
    away = client.post(f"/agenda/reminders/{reminder_id}/taken/undo",
                       data={"occurrence": occ.isoformat(), "next": "//evil.example/"})
    assert away.headers["Location"] == f"/agenda/reminders/{reminder_id}"


def test_the_reminder_page_offers_undo_too(app, login, people, today_dose):
    reminder_id, occ = today_dose
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
    client.post(f"/agenda/reminders/{reminder_id}/taken", data={"occurrence": occ.isoformat()})
    page = client.get(f"/agenda/reminders/{reminder_id}").get_data(as_text=True)
    assert "Taken at " in page and f"/agenda/reminders/{reminder_id}/taken/undo" in page


def test_a_past_days_dose_shows_when_it_was_taken_but_no_undo(app, login, people):
    with app.app_context():
        patient = people.get("patient")
        now = services.utcnow()
        local_today = recurrence.to_local(now, "Europe/Paris").date()
        reminder = make_reminder(patient, patient, now - timedelta(days=3),
                                 start=f"{local_today - timedelta(days=3):%Y-%m-%d}",
                                 times="08:00")
        yesterday = local_today - timedelta(days=1)
        occ = recurrence.to_utc(datetime(yesterday.year, yesterday.month, yesterday.day, 8),
                                "Europe/Paris")
        services.record_dose(patient, reminder, occ, now=occ + timedelta(minutes=5))
        client = signed_in(app, login, patient)
        reminder_id = reminder.id
    page = client.get(f"/agenda/?day={yesterday:%Y-%m-%d}").get_data(as_text=True)
    assert "Taken at 08:05" in page
    assert "/taken/undo" not in page
    refused = client.post(f"/agenda/reminders/{reminder_id}/taken/undo",
                          data={"occurrence": occ.isoformat()})
    assert refused.status_code == 409 and "too late" in refused.get_data(as_text=True)
    assert doses(app) == 1


def test_bad_undo_requests_say_why_and_change_nothing(app, login, people, today_dose):
    reminder_id, occ = today_dose
    with app.app_context():
        client = signed_in(app, login, people.get("patient"))
        outsider = signed_in(app, login, people.get("outsider"))
    url = f"/agenda/reminders/{reminder_id}/taken/undo"
    # Not taken: in place with htmx (the mark as it stands and the reason), a page without.
    refused = client.post(url, data={"occurrence": occ.isoformat()}, headers=HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'role="alert"' in html
    assert "This dose is not recorded as taken: there is nothing to undo." in html
    assert html.lstrip().startswith(f'<span id="taken-{reminder_id}-')
    assert f'hx-post="/agenda/reminders/{reminder_id}/taken"' in html
    page = client.post(url, data={"occurrence": occ.isoformat()})
    assert page.status_code == 409 and "<html" in page.get_data(as_text=True)
    client.post(f"/agenda/reminders/{reminder_id}/taken", data={"occurrence": occ.isoformat()})
    with app.app_context():
        history = count(AccessEvent)
    # Someone else's dose, garbage, an unknown reminder.
    assert outsider.post(url, data={"occurrence": occ.isoformat()}).status_code == 403
    assert outsider.post(url, data={"occurrence": occ.isoformat()},
                         headers=HX).status_code == 403
    assert client.post(url, data={"occurrence": "yesterday"}).status_code == 400
    assert client.post(url, data={}).status_code == 400
    assert client.post("/agenda/reminders/abc/taken/undo",
                       data={"occurrence": occ.isoformat()}).status_code == 404
    assert client.post("/agenda/reminders/999999/taken/undo",
                       data={"occurrence": occ.isoformat()}).status_code == 404
    assert doses(app) == 1
    with app.app_context():
        assert count(AccessEvent) == history
    # The double undo: the first one counts, the second is told there is nothing left.
    assert client.post(url, data={"occurrence": occ.isoformat()}).status_code == 302
    assert client.post(url, data={"occurrence": occ.isoformat()}).status_code == 409
    assert doses(app) == 0


def test_a_relative_who_writes_the_agenda_sees_and_uses_undo(app, login, people, today_dose):
    reminder_id, occ = today_dose
    with app.app_context():
        relative = signed_in(app, login, people.get("relative"))
    taken = relative.post(f"/agenda/reminders/{reminder_id}/taken",
                          data={"occurrence": occ.isoformat()}, headers=HX)
    assert ">Undo</button>" in taken.get_data(as_text=True)
    undone = relative.post(f"/agenda/reminders/{reminder_id}/taken/undo",
                           data={"occurrence": occ.isoformat()}, headers=HX)
    assert undone.status_code == 200 and doses(app) == 0
