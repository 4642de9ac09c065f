"""Who counts on the agenda's notifications: a patient with a reminder running, a relative
who watches one, someone reminded of a coming appointment ("Remind me too"). Push's banner
warns them when no device of theirs receives notifications (webapp/push/audience.py)."""

from __future__ import annotations

from sqlalchemy import exists

from ..push.audience import counts_on_notifications
from .common import utcnow
from .models import Appointment, AppointmentWatch, Reminder, ReminderWatch


@counts_on_notifications
def has_an_active_reminder(user_id: int):
    return exists().where(Reminder.patient_id == user_id, Reminder.active.is_(True))


@counts_on_notifications
def watches_a_reminder(user_id: int):
    return exists().where(ReminderWatch.watcher_id == user_id)


@counts_on_notifications
def reminded_of_a_coming_appointment(user_id: int):
    return exists().where(
        AppointmentWatch.watcher_id == user_id,
        AppointmentWatch.appointment_id == Appointment.id,
        Appointment.starts_at > utcnow(),
    )
