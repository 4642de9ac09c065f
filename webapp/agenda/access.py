"""When someone's access to a patient changes (circle.signals.access_changed): the watches
they may no longer hold, on medication reminders and on appointments, are dropped with their
pending alerts, so that "Watched by" and "Also reminded" name only people who still get them.
(The worker also asks policy again when each alert is due: nothing is sent meanwhile.)"""

from __future__ import annotations

from sqlalchemy import select

from .. import policy
from ..accounts.models import User
from ..extensions import db
from .appointments import remove_appointment_watch
from .models import Appointment, AppointmentWatch, Reminder, ReminderWatch
from .reminders import remove_watch


def drop_watches_without_access(patient_id: int, grantee_id: int) -> int:
    """Remove `grantee_id`'s watches on `patient_id`'s agenda unless policy still allows them.
    Returns how many were removed."""
    grantee = db.session.get(User, grantee_id)
    if grantee is None:
        return 0
    removed = 0
    for watch in db.session.scalars(
        select(ReminderWatch).join(Reminder).where(Reminder.patient_id == patient_id,
                                                   ReminderWatch.watcher_id == grantee_id)
    ).all():
        if not policy.can(grantee, "reminder.watch", watch.reminder):
            remove_watch(watch)
            removed += 1
    for watch in db.session.scalars(
        select(AppointmentWatch).join(Appointment).where(
            Appointment.patient_id == patient_id, AppointmentWatch.watcher_id == grantee_id)
    ).all():
        if not policy.can(grantee, "appointment.watch", watch.appointment):
            remove_appointment_watch(watch)
            removed += 1
    db.session.commit()
    return removed


def _on_access_changed(sender, patient_id=None, grantee_id=None, **extra) -> None:
    if patient_id is not None and grantee_id is not None:
        drop_watches_without_access(patient_id, grantee_id)


def connect_signals() -> None:
    from ..circle.signals import access_changed

    access_changed.connect(_on_access_changed, weak=False)
