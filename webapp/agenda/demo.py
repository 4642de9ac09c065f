"""Demo agenda (idempotent): Jeanne sees Dr Lefèvre soon (Claire is reminded too), Nadia
proposes a home visit, and Jeanne's daily medication reminder at 08:00 is watched by Claire."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..accounts.models import User
from ..extensions import db
from . import recurrence, services
from .models import Appointment, Reminder


def _user(name: str) -> User | None:
    return db.session.scalar(select(User).filter_by(email=f"{name}@demo.healthspace.test"))


def _local(days: int, at: time, tz: str) -> str:
    today = recurrence.to_local(services.utcnow(), tz).date()
    return datetime.combine(today + timedelta(days=days), at).strftime("%Y-%m-%dT%H:%M")


def seed() -> None:
    jeanne, claire = _user("jeanne"), _user("claire")
    gp, nurse = _user("dr.lefevre"), _user("nadia")
    if jeanne is None:
        return
    tz = jeanne.timezone
    has = db.session.scalar(select(Appointment.id).where(Appointment.patient_id == jeanne.id))
    if has is None and gp is not None:
        visit = services.create_appointment(jeanne, jeanne, services.AppointmentInput(
            title="Consultation de suivi", professional_id=str(gp.id),
            starts=_local(3, time(10, 30), tz), ends=_local(3, time(11, 0), tz),
            place="Cabinet médical, 12 rue Victor Hugo, Lyon",
            notes="Apporter les derniers résultats de prise de sang.", offsets=["1440", "60"]))
        if claire is not None:
            services.watch_appointment(claire, visit)
        if nurse is not None:
            services.create_appointment(nurse, jeanne, services.AppointmentInput(
                title="Soins infirmiers à domicile", starts=_local(5, time(9, 0), tz),
                ends=_local(5, time(9, 30), tz), place="Domicile", offsets=["60"]))
    reminder = db.session.scalar(select(Reminder).where(Reminder.patient_id == jeanne.id,
                                                        Reminder.kind == "medication"))
    if reminder is None:
        today = recurrence.to_local(services.utcnow(), tz).date()
        reminder = services.create_reminder(jeanne, jeanne, services.ReminderInput.from_form(
            MultiDict({"kind": "medication", "title": "Kardégic 75 mg", "mode": "builder",
                       "freq": "daily", "times": "08:00", "start": today.isoformat(),
                       "notes": "Un sachet au petit-déjeuner."})))
        if claire is not None:
            services.watch(claire, reminder, 60)
