"""The agenda in the patient's export: appointments, and reminders with the doses recorded.
Instants are UTC; a reminder's schedule is in its own time zone, as the patient set it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.export import export_section
from ..extensions import db
from .models import Appointment, Dose, Reminder


@export_section("appointments")
def appointments(patient) -> list[dict]:
    rows = db.session.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient.id)
        .options(selectinload(Appointment.professional))
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    return [
        {
            "title": a.title,
            "starts_at": a.starts_at,
            "ends_at": a.ends_at,
            "with": a.with_label or None,
            "place": a.place or None,
            "notes": a.notes or None,
            "status": a.status,
        }
        for a in rows
    ]


@export_section("reminders")
def reminders(patient) -> list[dict]:
    rows = db.session.scalars(
        select(Reminder).where(Reminder.patient_id == patient.id).order_by(Reminder.id)
    ).all()
    doses: dict[int, list[dict]] = {}
    if rows:
        for dose in db.session.scalars(
            select(Dose)
            .where(Dose.reminder_id.in_([r.id for r in rows]))
            .order_by(Dose.occurrence_at)
        ):
            doses.setdefault(dose.reminder_id, []).append(
                {"due_at": dose.occurrence_at, "taken_at": dose.recorded_at, "via": dose.via}
            )
    return [
        {
            "title": r.title,
            "kind": r.kind,
            "notes": r.notes or None,
            "schedule": r.rrule,
            "first_time": r.dtstart.isoformat(timespec="minutes"),
            "time_zone": r.timezone,
            "active": r.active,
            "doses_taken": doses.get(r.id, []),
        }
        for r in rows
    ]
