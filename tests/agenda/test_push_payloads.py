"""What the worker really sends, through the local push service (VAPID checked, decrypted)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.agenda.helpers import appointment_input, make_reminder
from webapp.agenda import services, worker
from webapp.agenda.models import Delivery
from webapp.extensions import db
from webapp.push import services as push

CREATED = datetime(2026, 3, 10, 6, 0)
FIRST = datetime(2026, 3, 10, 7, 0)  # 08:00 Paris


def _subscribe(user, endpoint):
    push.subscribe(user, endpoint.subscription().info())
    db.session.commit()


def test_medication_reminder_payload_has_no_health_text_by_default(ctx, people, push_endpoint):
    patient = people.get("patient")
    _subscribe(patient, push_endpoint)
    reminder = make_reminder(patient, patient, CREATED, title="Doliprane 1 g")
    stats = worker.tick(FIRST)
    assert stats["sent"] == 1
    push_endpoint.wait_for(1)
    assert push_endpoint.errors == []
    got = push_endpoint.received[0]
    payload = got.payload
    token = payload["data"].pop("token")
    delivery = db.session.scalar(select(Delivery).where(Delivery.kind == "reminder",
                                                        Delivery.occurrence_at == FIRST))
    assert payload == {
        "title": "You have a reminder", "body": "Open Health Space to see it.",
        "url": f"/agenda/reminders/{reminder.id}", "tag": f"reminder-{reminder.id}-202603100700",
        "kind": "medication",
        "actions": [{"action": "taken", "title": "Taken"},
                    {"action": "snooze", "title": "Snooze 10 min"}],
        "data": {"delivery": delivery.id, "action_url": "/agenda/actions"},
    }
    assert "Doliprane" not in got.text
    assert worker.read_action_token(token) == delivery.id
    assert got.urgency == "high" and got.ttl == 3600
    assert (delivery.status, delivery.devices) == ("sent", 1)


def test_details_and_language_follow_the_recipients_choice(ctx, people, push_endpoint):
    patient = people.get("patient")
    patient.language = "fr"
    db.session.commit()
    push.set_show_details(patient, True)
    _subscribe(patient, push_endpoint)
    make_reminder(patient, patient, CREATED, title="Doliprane 1 g")
    worker.tick(FIRST)
    push_endpoint.wait_for(1)
    payload = push_endpoint.received[0].payload
    assert payload["title"] == "Doliprane 1 g" and payload["body"] == "08:00"
    assert [a["title"] for a in payload["actions"]] == ["Pris", "Rappel dans 10 min"]


def test_watching_relative_alert_payload(ctx, people, push_endpoint):
    patient, relative = people.get("patient"), people.get("relative")
    _subscribe(relative, push_endpoint)
    reminder = make_reminder(patient, patient, CREATED, title="Doliprane 1 g")
    services.watch(relative, reminder, 60, now=CREATED)
    worker.tick(FIRST)  # the patient has no device: nothing reaches the endpoint
    assert push_endpoint.received == []
    worker.tick(FIRST + timedelta(minutes=60))
    push_endpoint.wait_for(1)
    payload = push_endpoint.received[0].payload
    assert payload["kind"] == "reminder" and payload["actions"] == []
    assert "Doliprane" not in push_endpoint.received[0].text
    assert payload["url"] == f"/agenda/reminders/{reminder.id}"
    assert push_endpoint.errors == []


def test_appointment_reminder_offers_confirm(ctx, people, push_endpoint):
    patient, relative = people.get("patient"), people.get("relative")
    _subscribe(patient, push_endpoint)
    # Booked by her daughter: the patient has not said she will be there yet.
    appt = services.create_appointment(relative, patient, appointment_input(),
                                       now=datetime(2026, 6, 1))
    worker.tick(appt.starts_at - timedelta(hours=1))
    push_endpoint.wait_for(1)
    payload = push_endpoint.received[0].payload
    assert payload["kind"] == "appointment"
    assert payload["actions"] == [{"action": "confirm", "title": "Confirm"}]
    assert "Cardiology" not in push_endpoint.received[0].text
    assert "Herriot" not in push_endpoint.received[0].text


def test_the_patients_own_appointment_is_not_asked_to_be_confirmed(ctx, people, push_endpoint):
    patient = people.get("patient")
    _subscribe(patient, push_endpoint)
    appt = services.create_appointment(patient, patient, appointment_input(),
                                       now=datetime(2026, 6, 1))
    assert appt.confirmed_at is not None
    worker.tick(appt.starts_at - timedelta(hours=1))
    push_endpoint.wait_for(1)
    payload = push_endpoint.received[0].payload
    assert payload["kind"] == "appointment" and payload["actions"] == []
    assert "token" not in payload["data"]


def test_a_relative_reminded_too_is_told_whose_appointment_and_cannot_confirm(
        ctx, people, push_endpoint):
    patient, relative = people.get("patient"), people.get("relative")
    _subscribe(relative, push_endpoint)
    appt = services.create_appointment(patient, patient, appointment_input(),
                                       now=datetime(2026, 6, 1))
    services.watch_appointment(relative, appt, now=datetime(2026, 6, 1))
    worker.tick(appt.starts_at - timedelta(hours=1))  # the patient has no device
    push_endpoint.wait_for(1)
    [received] = push_endpoint.received
    assert received.payload["kind"] == "appointment" and received.payload["actions"] == []
    assert "token" not in received.payload["data"]
    assert received.payload["url"] == f"/agenda/appointments/{appt.id}"
    # No detail by default: neither the appointment nor whose it is.
    assert "Cardiology" not in received.text and "Jeanne" not in received.text
    # With details chosen: whose appointment, and which.
    push.set_show_details(relative, True)
    later = services.create_appointment(patient, patient, appointment_input(
        starts="2026-06-12T09:00", ends="2026-06-12T09:30"), now=datetime(2026, 6, 1))
    services.watch_appointment(relative, later, now=datetime(2026, 6, 1))
    worker.tick(later.starts_at - timedelta(hours=1))
    push_endpoint.wait_for(2)
    assert push_endpoint.received[1].payload["title"] == "Jeanne Test: Cardiology check-up"
