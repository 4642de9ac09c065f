"""Every write and every rule of the agenda. Routes and the worker call these; policy decides.

One transaction per user action: each public writer validates everything first, then changes
rows, audits, and commits once. Nothing here sends a push (the worker does).

The agenda's services live by subject: appointments.py, reminders.py (with doses, snoozes and
watches), feed.py (the calendar link), common.py (what they share). This module reads the
day list and the month, and is the one name other code imports: everything public is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from . import recurrence
from .appointments import (  # noqa: F401 -- the agenda's public services
    AppointmentInput,
    appointment_watch_of,
    confirm_appointment,
    create_appointment,
    delete_appointment,
    get_appointment,
    parse_offsets,
    respond_to_proposal,
    schedule_appointment,
    unwatch_appointment,
    update_appointment,
    watch_appointment,
)
from .common import (  # noqa: F401
    CATCH_UP,
    DEFAULT_OFFSETS,
    DEFAULT_WATCH_DELAY,
    HORIZON,
    KIND_WINDOWS,
    MAX_APPOINTMENT_HOURS,
    MAX_NOTES,
    MAX_OFFSET_MINUTES,
    MAX_OFFSETS,
    MAX_PLACE,
    MAX_TITLE,
    MAX_WITH,
    SNOOZE_MINUTES,
    SNOOZE_WINDOW,
    WATCH_DELAYS,
    WATCH_WINDOW,
    Deleted,
    acting_patient,
    audit_action,
    circle_professionals,
    clean_text,
    parse_local_datetime,
    user_tz,
    utcnow,
)
from .feed import (  # noqa: F401
    create_or_regenerate_feed,
    feed_by_token,
    feed_entries,
    feed_of,
    feed_token,
    revoke_feed,
)
from .models import (
    Appointment,
    Delivery,
    Dose,
    Reminder,
)
from .reminders import (  # noqa: F401
    ReminderInput,
    create_reminder,
    delete_reminder,
    dose_of,
    dose_undoable,
    get_reminder,
    materialize_reminder,
    parse_delay,
    parse_occurrence,
    record_dose,
    snooze,
    undo_deadline,
    undo_dose,
    unwatch,
    update_reminder,
    watch,
    watch_of,
)

# ---- Reading: the day list and the month ---------------------------------------------------

@dataclass
class Entry:
    kind: str  # appointment | reminder
    at: datetime  # UTC
    local: datetime
    item: object
    occurrence_at: datetime | None = None
    dose: Dose | None = None  # the "Taken" record, when there is one

    @property
    def taken(self) -> bool:
        return self.dose is not None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.item.id}-{self.at:%Y%m%d%H%M}"


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    start = recurrence.to_utc(datetime.combine(day, time(0, 0)), tz)
    end = recurrence.to_utc(datetime.combine(day + timedelta(days=1), time(0, 0)), tz)
    return start, end


def entries_between(patient: User, start_utc: datetime, end_utc: datetime, tz: str
                    ) -> list[Entry]:
    out: list[Entry] = []
    for appt in db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id,
                                  Appointment.status != "declined",
                                  Appointment.starts_at < end_utc,
                                  Appointment.ends_at > start_utc)
        .order_by(Appointment.starts_at)
    ):
        at = max(appt.starts_at, start_utc)
        out.append(Entry("appointment", appt.starts_at, recurrence.to_local(at, tz), appt))
    reminders = db.session.scalars(
        select(Reminder).where(Reminder.patient_id == patient.id, Reminder.active.is_(True))
    ).all()
    taken = {
        (d.reminder_id, d.occurrence_at): d for d in db.session.scalars(
            select(Dose).where(Dose.reminder_id.in_([r.id for r in reminders]),
                               Dose.occurrence_at >= start_utc, Dose.occurrence_at < end_utc))
    } if reminders else {}
    for reminder in reminders:
        for occ in recurrence.occurrences_between(reminder.rrule, reminder.dtstart,
                                                  reminder.timezone, start_utc, end_utc):
            dose = taken.get((reminder.id, occ))
            out.append(Entry("reminder", occ, recurrence.to_local(occ, tz), reminder,
                             occurrence_at=occ, dose=dose))
    out.sort(key=lambda e: (e.at, e.kind))
    return out


def agenda_days(actor: User, patient: User, first_day: date, days: int = 7
                ) -> list[tuple[date, list[Entry]]]:
    """The day list: `first_day` (today by default) first, then the following days."""
    tz = user_tz(actor)
    start, _ = day_bounds(first_day, tz)
    _, end = day_bounds(first_day + timedelta(days=days - 1), tz)
    entries = entries_between(patient, start, end, tz)
    grouped: dict[date, list[Entry]] = {first_day + timedelta(days=i): [] for i in range(days)}
    for entry in entries:
        day = entry.local.date()
        if day in grouped:
            grouped[day].append(entry)
    audit_action(actor, patient, "read", "agenda")
    db.session.commit()
    return list(grouped.items())


def month_counts(actor: User, patient: User, year: int, month: int) -> dict[date, int]:
    tz = user_tz(actor)
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    start, _ = day_bounds(first, tz)
    end, _ = day_bounds(following, tz)
    counts: dict[date, int] = {}
    for entry in entries_between(patient, start, end, tz):
        counts[entry.local.date()] = counts.get(entry.local.date(), 0) + 1
    audit_action(actor, patient, "read", "agenda")
    db.session.commit()
    return counts


def pending_proposals(patient: User) -> list[Appointment]:
    return db.session.scalars(
        select(Appointment).where(Appointment.patient_id == patient.id,
                                  Appointment.status == "proposed",
                                  Appointment.starts_at > utcnow())
        .order_by(Appointment.starts_at)
    ).all()


def reminders_of(patient: User) -> list[Reminder]:
    return db.session.scalars(
        select(Reminder).where(Reminder.patient_id == patient.id).order_by(Reminder.id)
    ).all()


def upcoming_doses(reminder: Reminder, now: datetime, n: int = 5
                   ) -> list[tuple[datetime, Dose | None]]:
    """The next `n` occurrences (from 12 hours ago, so this morning's dose is still there),
    each with its "Taken" record if it was recorded as taken."""
    upcoming = recurrence.next_occurrences(reminder.rrule, reminder.dtstart, reminder.timezone,
                                           now - timedelta(hours=12), n=n)
    taken = {d.occurrence_at: d for d in db.session.scalars(select(Dose).where(
        Dose.reminder_id == reminder.id, Dose.occurrence_at.in_(upcoming)))} if upcoming else {}
    return [(occ, taken.get(occ)) for occ in upcoming]


def deliveries_of(reminder: Reminder, limit: int = 10, now: datetime | None = None
                  ) -> list[Delivery]:
    """Recent delivery outcomes (what was sent, missed, skipped), newest first. Only those
    whose time has come: an alert made unnecessary by an early "Taken" is settled ahead of
    its time, but it is not something that was sent."""
    return db.session.scalars(
        select(Delivery).where(Delivery.reminder_id == reminder.id,
                               Delivery.status != "pending",
                               Delivery.due_at <= (now or utcnow()))
        .order_by(Delivery.due_at.desc()).limit(limit)
    ).all()

