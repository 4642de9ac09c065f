"""Small builders for agenda tests (real services, real database)."""

from __future__ import annotations

from datetime import datetime

from werkzeug.datastructures import MultiDict

from webapp.agenda import services


def reminder_form(**fields) -> MultiDict:
    base = {"kind": "medication", "title": "Doliprane 1 g", "mode": "builder", "freq": "daily",
            "times": "08:00", "start": "2026-03-01"}
    base.update(fields)
    pairs = []
    for key, value in base.items():
        if isinstance(value, (list, tuple)):
            pairs += [(key, v) for v in value]
        else:
            pairs.append((key, value))
    return MultiDict(pairs)


def make_reminder(actor, patient, now: datetime, **fields):
    form = reminder_form(**fields)
    return services.create_reminder(actor, patient, services.ReminderInput.from_form(form),
                                    now=now)


def appointment_input(**fields) -> services.AppointmentInput:
    base = dict(title="Cardiology check-up", starts="2026-06-10T14:30", ends="2026-06-10T15:00",
                place="Hôpital Edouard Herriot", notes="Bring the ECG")
    base.update(fields)
    return services.AppointmentInput(**base)
