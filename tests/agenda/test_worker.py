"""The delivery worker with a controlled clock: due, early, late-but-in-window, missed,
daylight-saving changes, catching up after downtime, watched doses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.agenda.helpers import appointment_input, make_reminder
from webapp.agenda import services, worker
from webapp.agenda.models import Delivery
from webapp.extensions import db

CREATED = datetime(2026, 3, 10, 6, 0)  # UTC; Paris is UTC+1 until 29 March
FIRST = datetime(2026, 3, 10, 7, 0)    # 08:00 in Paris


def statuses(kind: str = "reminder") -> dict:
    rows = db.session.execute(
        select(Delivery.occurrence_at, Delivery.status).where(Delivery.kind == kind)
        .order_by(Delivery.occurrence_at)).all()
    return {occ: status for occ, status in rows}


@pytest.fixture
def daily(ctx, people):
    patient = people.get("patient")
    return make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")


def test_creating_a_reminder_prepares_its_next_occurrences(daily):
    got = statuses()
    assert list(got)[:2] == [FIRST, FIRST + timedelta(days=1)]
    assert set(got.values()) == {"pending"}
    assert max(got) < CREATED + services.HORIZON


def test_early_nothing_is_sent(daily):
    stats = worker.tick(FIRST - timedelta(minutes=1))
    assert stats.get("claimed", 0) == 0
    assert statuses()[FIRST] == "pending"


def test_due_reminder_is_claimed_once_and_its_outcome_recorded(daily):
    stats = worker.tick(FIRST)
    assert stats["claimed"] == 1
    row = db.session.scalar(select(Delivery).where(Delivery.occurrence_at == FIRST,
                                                   Delivery.kind == "reminder"))
    # No device registered: the attempt is recorded as undelivered, never retried in a loop.
    assert (row.status, row.devices, row.attempts) == ("undelivered", 0, 1)
    assert row.claimed_at == FIRST and row.finished_at == FIRST
    again = worker.tick(FIRST + timedelta(minutes=1))
    assert again.get("claimed", 0) == 0


def test_late_but_in_window_is_still_sent(daily):
    stats = worker.tick(FIRST + timedelta(minutes=59))
    assert stats["claimed"] == 1 and stats.get("missed", 0) == 0
    assert statuses()[FIRST] == "undelivered"


def test_later_than_its_window_is_recorded_as_missed_not_sent(daily):
    stats = worker.tick(FIRST + timedelta(minutes=61))
    assert stats.get("claimed", 0) == 0 and stats["missed"] == 1
    assert statuses()[FIRST] == "missed"


def test_catching_up_after_downtime_does_not_flood(daily):
    # The worker was stopped for three days: only the current occurrence goes out.
    now = FIRST + timedelta(days=3, minutes=5)
    stats = worker.tick(now)
    got = statuses()
    assert stats["claimed"] == 1
    assert got[FIRST + timedelta(days=3)] == "undelivered"
    assert [got[FIRST + timedelta(days=d)] for d in range(3)] == ["missed"] * 3
    assert max(got) > now + timedelta(hours=20)  # the horizon moved forward


@pytest.mark.parametrize("before, after", [
    # March: Sunday 29 at 02:00 Paris goes to UTC+2.
    (datetime(2026, 3, 28, 7, 0), datetime(2026, 3, 29, 6, 0)),
    # October: Sunday 25 at 03:00 Paris goes back to UTC+1.
    (datetime(2026, 10, 24, 6, 0), datetime(2026, 10, 25, 7, 0)),
])
def test_daylight_saving_changes_keep_0800_local(ctx, people, before, after):
    patient = people.get("patient")
    make_reminder(patient, patient, before - timedelta(hours=6), start="2026-03-01",
                  times="08:00")
    one_hour_early = after - timedelta(hours=1)
    assert worker.tick(before)["claimed"] == 1
    # The wrong answer (same UTC time as the day before) must not fire...
    wrong = before + timedelta(days=1)
    if wrong < after:
        assert worker.tick(wrong).get("claimed", 0) == 0
    assert worker.tick(one_hour_early if one_hour_early > before + timedelta(days=1) else
                       after - timedelta(minutes=1)).get("claimed", 0) == 0
    # ...the right one does, at 08:00 local.
    assert worker.tick(after)["claimed"] == 1
    sent = [occ for occ, status in statuses().items() if status == "undelivered"]
    assert sent == [before, after]


def test_appointment_reminders_default_to_a_day_and_an_hour_before(ctx, people):
    patient = people.get("patient")
    created = datetime(2026, 6, 1, 8, 0)
    appt = services.create_appointment(patient, patient, appointment_input(), now=created)
    starts = datetime(2026, 6, 10, 12, 30)  # 14:30 Paris (UTC+2)
    assert appt.starts_at == starts
    dues = db.session.scalars(select(Delivery.due_at).where(Delivery.kind == "appointment")
                              .order_by(Delivery.due_at)).all()
    assert dues == [starts - timedelta(days=1), starts - timedelta(hours=1)]
    assert worker.tick(starts - timedelta(days=1))["claimed"] == 1
    assert worker.tick(starts - timedelta(minutes=20))["missed"] == 1  # 40 min late


def test_proposed_appointment_gets_no_reminder_until_accepted(ctx, people):
    patient, pro = people.get("patient"), people.get("pro")
    created = datetime(2026, 6, 1, 8, 0)
    appt = services.create_appointment(pro, patient, appointment_input(), now=created)
    assert appt.status == "proposed"
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    services.respond_to_proposal(patient, appt, accept=True, now=created)
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 2


def _watch(people, delay=60):
    patient, relative = people.get("patient"), people.get("relative")
    reminder = make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")
    services.watch(relative, reminder, delay, now=CREATED)
    return patient, relative, reminder


def test_watching_relative_is_alerted_when_no_dose_is_confirmed(ctx, people):
    _patient, relative, reminder = _watch(people)
    worker.tick(FIRST)
    assert worker.tick(FIRST + timedelta(minutes=59)).get("claimed", 0) == 0
    stats = worker.tick(FIRST + timedelta(minutes=60))
    assert stats["claimed"] == 1
    alert = db.session.scalar(select(Delivery).where(Delivery.kind == "watch",
                                                     Delivery.occurrence_at == FIRST))
    assert alert.recipient_id == relative.id and alert.status == "undelivered"


def test_no_alert_once_the_dose_is_taken(ctx, people):
    patient, _relative, reminder = _watch(people)
    worker.tick(FIRST)
    services.record_dose(patient, reminder, FIRST, now=FIRST + timedelta(minutes=5))
    stats = worker.tick(FIRST + timedelta(minutes=60))
    assert stats.get("claimed", 0) == 0
    assert statuses("watch")[FIRST] == "skipped"


def test_an_alert_made_unnecessary_early_is_not_listed_as_sent_before_its_time(ctx, people):
    patient, _relative, reminder = _watch(people)
    worker.tick(FIRST)
    taken_at = FIRST + timedelta(minutes=5)
    services.record_dose(patient, reminder, FIRST, now=taken_at)
    listed = lambda now: [d.kind for d in services.deliveries_of(reminder, now=now)]  # noqa: E731
    assert "watch" not in listed(taken_at)
    assert "watch" in listed(FIRST + timedelta(minutes=60))


def _lapse_unnoticed(patient, relative):
    """The grant's end date passed and the expiry sweep has not run yet: only the worker's
    own check stands between the relative and the next alert."""
    from webapp.circle import services as circle

    grant = circle.active_grant(patient.id, relative.id)
    grant.ends_at = services.utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_an_alert_due_after_access_ended_is_not_sent(ctx, people):
    patient, relative, _reminder = _watch(people)
    _lapse_unnoticed(patient, relative)
    stats = worker.tick(FIRST + timedelta(minutes=60))
    assert stats["skipped"] == 1 and statuses("watch")[FIRST] == "skipped"


def test_revoking_access_drops_the_watch_and_its_pending_alerts(ctx, people):
    from webapp.agenda.models import ReminderWatch
    from webapp.circle import services as circle

    patient, relative, reminder = _watch(people)
    circle.revoke_grant(patient, circle.active_grant(patient.id, relative.id).id)
    assert db.session.scalar(select(func.count()).select_from(ReminderWatch)) == 0
    assert statuses("watch") == {}
    assert worker.tick(FIRST + timedelta(minutes=60)).get("skipped", 0) == 0
    # The patient's own reminders are untouched.
    assert statuses()[FIRST] in ("pending", "undelivered")


def test_snooze_reminds_again_ten_minutes_later(ctx, people):
    patient = people.get("patient")
    reminder = make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")
    worker.tick(FIRST)
    services.snooze(patient, reminder, FIRST, now=FIRST + timedelta(minutes=1))
    assert worker.tick(FIRST + timedelta(minutes=10)).get("claimed", 0) == 0
    assert worker.tick(FIRST + timedelta(minutes=11))["claimed"] == 1
    assert statuses("snooze")[FIRST] == "undelivered"


def test_stale_claim_of_a_dead_worker_is_taken_again(daily):
    ids = worker.claim(FIRST, "dead-worker")
    assert len(ids) == 1
    assert worker.tick(FIRST + timedelta(minutes=5)).get("claimed", 0) == 0
    stats = worker.tick(FIRST + timedelta(minutes=11))
    assert stats["requeued"] == 1 and stats["claimed"] == 1


# ---- "Remind me too": a relative gets an appointment's reminders ---------------------------

APPOINTMENT_CREATED = datetime(2026, 6, 1, 8, 0)


def _reminded_too(people):
    patient, relative = people.get("patient"), people.get("relative")
    appt = services.create_appointment(patient, patient, appointment_input(),
                                       now=APPOINTMENT_CREATED)
    services.watch_appointment(relative, appt, now=APPOINTMENT_CREATED)
    return patient, relative, appt


def _appointment_deliveries(appt):
    return db.session.execute(
        select(Delivery.recipient_id, Delivery.due_at, Delivery.status)
        .where(Delivery.appointment_id == appt.id).order_by(Delivery.due_at, Delivery.recipient_id)
    ).all()


def test_a_relative_reminded_too_gets_each_reminder_of_the_appointment(ctx, people):
    patient, relative, appt = _reminded_too(people)
    day_before = appt.starts_at - timedelta(days=1)
    hour_before = appt.starts_at - timedelta(hours=1)
    assert [(r, d) for r, d, _s in _appointment_deliveries(appt)] == [
        (patient.id, day_before), (relative.id, day_before),
        (patient.id, hour_before), (relative.id, hour_before)]
    assert worker.tick(day_before)["claimed"] == 2
    # Asking twice changes nothing; moving the appointment moves the relative's reminders too.
    services.watch_appointment(relative, appt, now=day_before)
    services.update_appointment(patient, appt, appointment_input(starts="2026-06-11T14:30",
                                                                 ends="2026-06-11T15:00"),
                                now=day_before)
    pending = [(r, d) for r, d, s in _appointment_deliveries(appt) if s == "pending"]
    assert pending == [(patient.id, appt.starts_at - timedelta(days=1)),
                       (relative.id, appt.starts_at - timedelta(days=1)),
                       (patient.id, appt.starts_at - timedelta(hours=1)),
                       (relative.id, appt.starts_at - timedelta(hours=1))]


def test_stop_reminding_me_removes_only_the_relatives_pending_reminders(ctx, people):
    patient, relative, appt = _reminded_too(people)
    worker.tick(appt.starts_at - timedelta(days=1))
    services.unwatch_appointment(relative, appt)
    rows = _appointment_deliveries(appt)
    assert [(r, s) for r, _d, s in rows if r == relative.id] == [(relative.id, "undelivered")]
    assert [s for r, _d, s in rows if r == patient.id] == ["undelivered", "pending"]
    assert appt.watches == []


def test_an_appointment_reminder_due_after_access_ended_is_not_sent(ctx, people):
    patient, relative, appt = _reminded_too(people)
    _lapse_unnoticed(patient, relative)
    stats = worker.tick(appt.starts_at - timedelta(days=1))
    assert stats["claimed"] == 2 and stats["skipped"] == 1
    statuses_by_recipient = {r: s for r, d, s in _appointment_deliveries(appt)
                             if d == appt.starts_at - timedelta(days=1)}
    assert statuses_by_recipient == {patient.id: "undelivered", relative.id: "skipped"}


def test_revoking_access_drops_the_relatives_appointment_reminders(ctx, people):
    from webapp.circle import services as circle

    patient, relative, appt = _reminded_too(people)
    worker.tick(appt.starts_at - timedelta(days=1))
    circle.revoke_grant(patient, circle.active_grant(patient.id, relative.id).id)
    db.session.refresh(appt)
    assert appt.watches == []
    rows = _appointment_deliveries(appt)
    # What was sent stays as the record; what was still to come is gone.
    assert [s for r, _d, s in rows if r == relative.id] == ["undelivered"]
    assert [s for r, _d, s in rows if r == patient.id] == ["undelivered", "pending"]


def test_narrowing_access_to_messages_only_drops_the_watches_too(ctx, people):
    from webapp.circle import services as circle

    patient, relative, appt = _reminded_too(people)
    grant = circle.active_grant(patient.id, relative.id)
    circle.change_grant(patient, grant.id, "messages", None)
    db.session.refresh(appt)
    assert appt.watches == []


@pytest.mark.parametrize("who", ["patient", "pro", "outsider", "other_pro"])
def test_only_a_relative_with_the_agenda_scope_asks_to_be_reminded(ctx, people, who):
    from webapp.errors import Forbidden

    patient = people.get("patient")
    appt = services.create_appointment(patient, patient, appointment_input(),
                                       now=APPOINTMENT_CREATED)
    with pytest.raises(Forbidden):
        services.watch_appointment(people.get(who), appt, now=APPOINTMENT_CREATED)
    assert appt.watches == []
    assert {r for r, _d, _s in _appointment_deliveries(appt)} == {patient.id}


# ---- Deleting what is watched: nothing of it may outlive it ---------------------------------

def test_deleting_a_watched_appointment_leaves_nothing_for_the_next_one(ctx, people):
    # SQLite hands the freed id to the next row: a watch left behind (foreign keys were not
    # enforced there) reminded the relative of whatever appointment came next, even another
    # patient's.
    from webapp.agenda.models import AppointmentWatch

    patient, relative, appt = _reminded_too(people)
    old_id = appt.id
    db.session.expire_all()  # as in a request: the watches are not loaded
    services.delete_appointment(patient, appt)
    assert db.session.scalar(select(func.count()).select_from(AppointmentWatch)) == 0
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    other = factories.user("patient", display_name="Marcel Other", language="en")
    later = services.create_appointment(other, other, appointment_input(),
                                        now=APPOINTMENT_CREATED)
    assert later.watches == []
    assert {r for r, _d, _s in _appointment_deliveries(later)} == {other.id}
    assert db.session.get(type(later), old_id) in (None, later)


def test_deleting_a_watched_reminder_removes_the_watch_and_the_doses(ctx, people):
    from webapp.agenda.models import Dose, ReminderWatch

    patient, relative = people.get("patient"), people.get("relative")
    reminder = make_reminder(patient, patient, CREATED, start="2026-03-01", times="08:00")
    services.watch(relative, reminder, 60, now=CREATED)
    services.record_dose(patient, reminder, FIRST)
    db.session.expire_all()
    services.delete_reminder(patient, reminder)
    for model in (ReminderWatch, Dose, Delivery):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model


def test_a_past_appointment_keeps_its_notes_editable_but_cannot_be_moved_into_the_past(
    ctx, people
):
    from webapp.errors import UserError

    patient = people.get("patient")
    appt = services.create_appointment(patient, patient, appointment_input(),
                                       now=APPOINTMENT_CREATED)
    after_the_visit = appt.ends_at + timedelta(hours=2)
    services.update_appointment(patient, appt, appointment_input(notes="ECG normal"),
                                now=after_the_visit)
    assert appt.notes == "ECG normal"
    with pytest.raises(UserError, match="already passed"):
        services.update_appointment(patient, appt, appointment_input(
            starts="2026-06-10T16:00", ends="2026-06-10T16:30"), now=after_the_visit)
