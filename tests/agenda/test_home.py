"""The agenda's part of the home page: proposals to answer, what is left of today."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.agenda.helpers import appointment_input, make_reminder
from webapp.agenda import services
from webapp.agenda.home import today_items
from webapp.audit import AccessEvent
from webapp.extensions import db

CREATED = datetime(2030, 6, 1, 6, 0)
NOON = datetime(2030, 6, 10, 10, 0)  # 12:00 in Paris


def _plan(people):
    patient, pro = people.get("patient"), people.get("pro")
    make_reminder(patient, patient, CREATED, title="Doliprane", start="2030-06-01",
                  times="08:00")
    make_reminder(patient, patient, CREATED, title="Vitamin D", start="2030-06-01",
                  times="20:00")
    services.create_appointment(patient, patient, appointment_input(
        title="Cardiology", starts="2030-06-10T14:30", ends="2030-06-10T15:00"), now=CREATED)
    services.create_appointment(patient, patient, appointment_input(
        title="This morning", starts="2030-06-10T09:00", ends="2030-06-10T09:30"), now=CREATED)
    services.create_appointment(pro, patient, appointment_input(
        title="Home visit", starts="2030-06-12T09:00", ends="2030-06-12T09:30"), now=CREATED)
    return patient


def test_the_patient_sees_proposals_to_answer_and_the_rest_of_today(ctx, people):
    patient = _plan(people)
    items = today_items(patient, NOON)
    texts = [i.text for i in items]
    assert texts[0].startswith("Dr Pro proposes “Home visit”")
    assert items[0].kind == "alert"
    assert "Today 08:00: Doliprane, not recorded as taken yet" in texts
    assert "Today 14:30: Cardiology" in texts
    assert "Today 20:00: Vitamin D" in texts
    assert not any("This morning" in t for t in texts)  # over already
    reminder = services.reminders_of(patient)[0]
    services.record_dose(patient, reminder, datetime(2030, 6, 10, 6, 0), now=NOON)
    assert not any("Doliprane" in i.text for i in today_items(patient, NOON))


def test_a_relative_sees_the_day_not_the_proposals_and_the_reading_is_recorded(ctx, people):
    from webapp.circle import services as circle

    patient = _plan(people)
    relative = people.get("relative")
    circle.switch_acting_for(relative, patient.id)
    texts = [i.text for i in today_items(relative, NOON)]
    assert "Today 14:30: Cardiology" in texts
    assert not any("proposes" in t for t in texts)  # the patient answers those
    reads = db.session.scalars(select(AccessEvent).where(
        AccessEvent.actor_id == relative.id, AccessEvent.action == "read")).all()
    assert reads


def test_someone_without_the_agenda_scope_sees_nothing_of_it(ctx, people):
    from webapp.circle import services as circle

    patient = _plan(people)
    other_pro = people.get("other_pro")  # messages only
    circle.switch_acting_for(other_pro, patient.id)
    assert today_items(other_pro, NOON) == []
    assert today_items(people.get("outsider"), NOON) == []
