"""Every write and every rule of the agenda. Routes and the worker call these; policy decides.

One transaction per user action: each public writer validates everything first, then changes
rows, audits, and commits once. Nothing here sends a push (the worker does).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import audit, policy
from ..accounts.models import User
from ..errors import Conflict, NotFound, UserError
from ..extensions import db
from . import recurrence
from .models import (
    REMINDER_KINDS,
    Appointment,
    CalendarFeed,
    Delivery,
    Dose,
    Reminder,
    ReminderWatch,
)

MAX_TITLE = 200
MAX_PLACE = 300
MAX_NOTES = 4000
MAX_WITH = 200
MAX_OFFSETS = 5
MAX_OFFSET_MINUTES = 30 * 24 * 60
MAX_APPOINTMENT_HOURS = 24 * 7
DEFAULT_OFFSETS = (1440, 60)
SNOOZE_MINUTES = 10
WATCH_DELAYS = (15, 30, 60, 90, 120, 180, 240)
DEFAULT_WATCH_DELAY = 60
# Deliveries are prepared this far ahead; the worker keeps the horizon moving.
HORIZON = timedelta(hours=36)
# After a long stop, occurrences this far back are recorded as missed; older ones are not.
CATCH_UP = timedelta(days=7)
WATCH_WINDOW = timedelta(hours=3)
SNOOZE_WINDOW = timedelta(minutes=30)
KIND_WINDOWS = {"medication": 60, "measurement": 120, "vaccination": 720, "screening": 720}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def user_tz(user: User | None) -> str:
    if user is not None and getattr(user, "timezone", None):
        return user.timezone
    return current_app.config.get("DEFAULT_TIMEZONE", "Europe/Paris")


def _audit(actor: User, patient: User, action: str, object_type: str, object_id=None) -> None:
    """One history row for anyone but the patient (and the patient's own writes)."""
    if actor.id != patient.id or action != "read":
        audit.record(actor, patient, action, object_type, object_id,
                     on_behalf_of=patient if actor.id != patient.id else None)


def _text(value, limit: int, field: str, label: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise UserError(_("Please give %(what)s.", what=label), field=field)
    if len(value) > limit:
        raise UserError(_("%(what)s is too long (at most %(n)d characters).",
                          what=label.capitalize(), n=limit), field=field)
    if "\x00" in value:
        raise UserError(_("%(what)s contains characters that are not allowed.",
                          what=label.capitalize()), field=field)
    return value


def parse_local_datetime(value: str | None, tz: str, field: str) -> datetime:
    """A `datetime-local` form value in the user's zone → naive UTC."""
    value = (value or "").strip()
    if not value:
        raise UserError(_("Please give a date and time."), field=field)
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(_("“%(value)s” is not a date and time.", value=value[:20]),
                        field=field) from None
    if local.tzinfo is not None:
        local = local.astimezone(recurrence.zone(tz)).replace(tzinfo=None)
    if not 2000 <= local.year <= 2100:
        raise UserError(_("Please give a date between 2000 and 2100."), field=field)
    return recurrence.to_utc(local.replace(second=0, microsecond=0), tz)


def parse_offsets(values) -> list[int]:
    """Reminder offsets in minutes before the start: bounded, unique, at most a few."""
    if values is None:
        return list(DEFAULT_OFFSETS)
    if isinstance(values, str):
        values = [v for v in values.replace(" ", "").split(",")]
    offsets = []
    for raw in values:
        raw = str(raw).strip()
        if raw == "":
            continue
        if not raw.lstrip("-").isdigit() or len(raw) > 7:
            raise UserError(_("“%(value)s” is not a number of minutes.", value=raw[:10]),
                            field="offsets")
        minutes = int(raw)
        if not 0 <= minutes <= MAX_OFFSET_MINUTES:
            raise UserError(_("A reminder can be between 0 minutes and 30 days before."),
                            field="offsets")
        if minutes not in offsets:
            offsets.append(minutes)
    if len(offsets) > MAX_OFFSETS:
        raise UserError(_("At most %(n)d reminders per appointment.", n=MAX_OFFSETS),
                        field="offsets")
    return sorted(offsets, reverse=True)


def _window_for_offset(offset: int) -> timedelta:
    # A day-before reminder is still useful hours late; an hour-before one is not.
    if offset >= 1440:
        return timedelta(hours=6)
    return timedelta(minutes=max(10, offset // 2))


# ---- The patient a person works on --------------------------------------------------------

def acting_patient(user: User) -> User | None:
    from ..circle import services as circle

    return circle.acting_for(user)


def circle_professionals(patient: User) -> list[User]:
    """Professionals of the patient's circle who can see the patient's agenda."""
    from ..circle.models import Grant

    ids = db.session.scalars(
        select(Grant.grantee_id).where(Grant.patient_id == patient.id)
    ).all()
    if not ids:
        return []
    pros = db.session.scalars(
        select(User).where(User.id.in_(ids), User.role == "professional")
        .order_by(User.display_name)
    ).all()
    return [p for p in pros if policy.can(p, "agenda.read", patient)]


# ---- Appointments -------------------------------------------------------------------------

@dataclass
class AppointmentInput:
    title: str = ""
    starts: str = ""
    ends: str = ""
    professional_id: str = ""
    with_text: str = ""
    place: str = ""
    notes: str = ""
    offsets: object = None

    @classmethod
    def from_form(cls, form) -> AppointmentInput:
        offsets = form.getlist("offsets") if "offsets" in form or "offsets_sent" in form else None
        return cls(title=form.get("title", ""), starts=form.get("starts", ""),
                   ends=form.get("ends", ""), professional_id=form.get("professional_id", ""),
                   with_text=form.get("with_text", ""), place=form.get("place", ""),
                   notes=form.get("notes", ""), offsets=offsets)


def _validated_appointment(actor: User, patient: User, data: AppointmentInput) -> dict:
    tz = user_tz(actor)
    title = _text(data.title, MAX_TITLE, "title", _("a title"), required=True)
    starts_at = parse_local_datetime(data.starts, tz, "starts")
    ends_at = parse_local_datetime(data.ends, tz, "ends") if data.ends else \
        starts_at + timedelta(minutes=30)
    if ends_at <= starts_at:
        raise UserError(_("The end is before the start."), field="ends")
    if ends_at - starts_at > timedelta(hours=MAX_APPOINTMENT_HOURS):
        raise UserError(_("An appointment lasts at most 7 days."), field="ends")
    professional = None
    pid = (data.professional_id or "").strip()
    if pid:
        if not pid.isdigit():
            raise UserError(_("Please choose a professional from the list."),
                            field="professional_id")
        professional = db.session.get(User, int(pid))
        if professional is None or professional not in circle_professionals(patient):
            raise UserError(_("This professional is not in the care circle."),
                            field="professional_id")
    elif actor.is_professional:
        professional = actor
    return dict(
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        professional_id=professional.id if professional else None,
        with_text=_text(data.with_text, MAX_WITH, "with_text", _("the name")),
        place=_text(data.place, MAX_PLACE, "place", _("the place")),
        notes=_text(data.notes, MAX_NOTES, "notes", _("the notes")),
        reminder_offsets=",".join(map(str, parse_offsets(data.offsets))),
    )


def create_appointment(actor: User, patient: User, data: AppointmentInput,
                       now: datetime | None = None) -> Appointment:
    """The patient or a relative creates; a professional proposes (the patient answers)."""
    proposing = actor.is_professional
    policy.require(actor, "appointment.propose" if proposing else "appointment.create", patient)
    fields = _validated_appointment(actor, patient, data)
    appointment = Appointment(patient_id=patient.id, created_by_id=actor.id,
                              status="proposed" if proposing else "accepted")
    _assign(appointment, fields)
    db.session.add(appointment)
    db.session.flush()
    schedule_appointment(appointment, now or utcnow())
    _audit(actor, patient, "propose" if proposing else "write", "appointment", appointment.id)
    db.session.commit()
    return appointment


def _assign(appointment: Appointment, fields: dict) -> None:
    for key, value in fields.items():
        setattr(appointment, key, value)


def get_appointment(actor: User, appointment_id: int, action: str = "appointment.read",
                    audit_read: bool = False) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound(_("This appointment does not exist."))
    policy.require(actor, action, appointment)
    if audit_read:
        _audit(actor, appointment.patient, "read", "appointment", appointment.id)
        db.session.commit()
    return appointment


def update_appointment(actor: User, appointment: Appointment, data: AppointmentInput,
                       now: datetime | None = None) -> Appointment:
    policy.require(actor, "appointment.edit", appointment)
    fields = _validated_appointment(actor, appointment.patient, data)
    if not actor.is_professional and fields["professional_id"] is None:
        fields["professional_id"] = None
    _assign(appointment, fields)
    appointment.updated_at = utcnow()
    appointment.confirmed_at = None
    schedule_appointment(appointment, now or utcnow())
    _audit(actor, appointment.patient, "write", "appointment", appointment.id)
    db.session.commit()
    return appointment


def delete_appointment(actor: User, appointment: Appointment) -> None:
    policy.require(actor, "appointment.delete", appointment)
    patient = appointment.patient
    _audit(actor, patient, "delete", "appointment", appointment.id)
    db.session.execute(delete(Delivery).where(Delivery.appointment_id == appointment.id))
    db.session.delete(appointment)
    db.session.commit()


def respond_to_proposal(actor: User, appointment: Appointment, accept: bool,
                        now: datetime | None = None) -> Appointment:
    policy.require(actor, "appointment.respond", appointment)
    if appointment.status != "proposed":
        raise Conflict(_("This proposal has already been answered."))
    appointment.status = "accepted" if accept else "declined"
    appointment.updated_at = utcnow()
    schedule_appointment(appointment, now or utcnow())
    _audit(actor, appointment.patient, "accept" if accept else "decline", "appointment",
           appointment.id)
    db.session.commit()
    return appointment


def confirm_appointment(actor: User, appointment: Appointment) -> Appointment:
    policy.require(actor, "appointment.confirm", appointment)
    if appointment.confirmed_at is None:
        appointment.confirmed_at = utcnow()
        _audit(actor, appointment.patient, "confirm", "appointment", appointment.id)
        db.session.commit()
    return appointment


def schedule_appointment(appointment: Appointment, now: datetime) -> None:
    """(Re)build the pending deliveries of an appointment. Sent ones stay as the record."""
    db.session.execute(delete(Delivery).where(Delivery.appointment_id == appointment.id,
                                              Delivery.status == "pending"))
    if appointment.status != "accepted" or appointment.starts_at <= now:
        return
    existing = set(db.session.scalars(
        select(Delivery.dedupe_key).where(Delivery.appointment_id == appointment.id)))
    for offset in appointment.offsets:
        due = appointment.starts_at - timedelta(minutes=offset)
        if due < now:
            continue  # a reminder whose moment has passed is not invented late
        key = f"a:{appointment.id}:{appointment.starts_at:%Y%m%dT%H%M}:{offset}"
        if key in existing:
            continue
        db.session.add(Delivery(
            dedupe_key=key, recipient_id=appointment.patient_id,
            patient_id=appointment.patient_id, kind="appointment",
            appointment_id=appointment.id, occurrence_at=appointment.starts_at, due_at=due,
            expires_at=min(due + _window_for_offset(offset), appointment.starts_at),
        ))


# ---- Recurring reminders ------------------------------------------------------------------

@dataclass
class ReminderInput:
    kind: str = "medication"
    title: str = ""
    notes: str = ""
    mode: str = "builder"  # builder | rrule
    rrule: str = ""
    start: str = ""
    form: object = None

    @classmethod
    def from_form(cls, form) -> ReminderInput:
        return cls(kind=form.get("kind", ""), title=form.get("title", ""),
                   notes=form.get("notes", ""), mode=form.get("mode", "builder"),
                   rrule=form.get("rrule", ""), start=form.get("start", ""), form=form)


def _validated_reminder(actor: User, patient: User, data: ReminderInput) -> dict:
    if data.kind not in REMINDER_KINDS:
        raise UserError(_("Please choose what kind of reminder this is."), field="kind")
    title = _text(data.title, MAX_TITLE, "title", _("a title"), required=True)
    notes = _text(data.notes, MAX_NOTES, "notes", _("the notes"))
    if data.mode == "rrule":
        start_text = (data.start or "").strip()
        try:
            start = date.fromisoformat(start_text)
        except ValueError:
            raise UserError(_("Please give a start date."), field="start") from None
        dtstart = datetime.combine(start, time(0, 0))
        rule = recurrence.normalise(data.rrule, dtstart)
    else:
        builder = recurrence.parse_builder_form(data.form)
        rule = builder.rule()
        dtstart = builder.dtstart()
    return dict(kind=data.kind, title=title, notes=notes, rrule=rule, dtstart=dtstart,
                timezone=patient.timezone or user_tz(patient),
                window_minutes=KIND_WINDOWS[data.kind])


def create_reminder(actor: User, patient: User, data: ReminderInput,
                    now: datetime | None = None) -> Reminder:
    policy.require(actor, "reminder.create", patient)
    fields = _validated_reminder(actor, patient, data)
    reminder = Reminder(patient_id=patient.id, created_by_id=actor.id, active=True)
    for key, value in fields.items():
        setattr(reminder, key, value)
    db.session.add(reminder)
    db.session.flush()
    now = now or utcnow()
    reminder.materialized_until = now
    materialize_reminder(reminder, now)
    _audit(actor, patient, "write", "reminder", reminder.id)
    db.session.commit()
    return reminder


def get_reminder(actor: User, reminder_id: int, action: str = "reminder.read",
                 audit_read: bool = False) -> Reminder:
    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None:
        raise NotFound(_("This reminder does not exist."))
    policy.require(actor, action, reminder)
    if audit_read:
        _audit(actor, reminder.patient, "read", "reminder", reminder.id)
        db.session.commit()
    return reminder


def update_reminder(actor: User, reminder: Reminder, data: ReminderInput,
                    now: datetime | None = None) -> Reminder:
    policy.require(actor, "reminder.edit", reminder)
    fields = _validated_reminder(actor, reminder.patient, data)
    for key, value in fields.items():
        setattr(reminder, key, value)
    reminder.updated_at = utcnow()
    now = now or utcnow()
    # Future occurrences follow the new rule; what was already sent stays as the record.
    db.session.execute(delete(Delivery).where(Delivery.reminder_id == reminder.id,
                                              Delivery.status == "pending"))
    reminder.materialized_until = now
    materialize_reminder(reminder, now)
    _audit(actor, reminder.patient, "write", "reminder", reminder.id)
    db.session.commit()
    return reminder


def delete_reminder(actor: User, reminder: Reminder) -> None:
    policy.require(actor, "reminder.delete", reminder)
    _audit(actor, reminder.patient, "delete", "reminder", reminder.id)
    db.session.execute(delete(Delivery).where(Delivery.reminder_id == reminder.id))
    db.session.execute(delete(Dose).where(Dose.reminder_id == reminder.id))
    db.session.execute(delete(ReminderWatch).where(ReminderWatch.reminder_id == reminder.id))
    db.session.delete(reminder)
    db.session.commit()


def materialize_reminder(reminder: Reminder, now: datetime) -> int:
    """Create the deliveries of the next occurrences (idempotent: keys are unique).

    Occurrences from the last horizon (never more than CATCH_UP in the past) up to
    now + HORIZON; the watchers' alerts are created with them.
    """
    start = reminder.materialized_until or now
    start = max(start, now - CATCH_UP)
    end = now + HORIZON
    if not reminder.active or end <= start:
        return 0
    occurrences = recurrence.occurrences_between(reminder.rrule, reminder.dtstart,
                                                 reminder.timezone, start, end)
    created = _add_occurrence_deliveries(reminder, occurrences)
    reminder.materialized_until = end
    return created


def _add_occurrence_deliveries(reminder: Reminder, occurrences: list[datetime],
                               watches: list[ReminderWatch] | None = None,
                               patient_too: bool = True) -> int:
    if not occurrences:
        return 0
    watches = list(reminder.watches) if watches is None else watches
    rows = []
    window = timedelta(minutes=reminder.window_minutes)
    for occ in occurrences:
        if patient_too:
            rows.append(dict(
                dedupe_key=f"r:{reminder.id}:{occ:%Y%m%dT%H%M}",
                recipient_id=reminder.patient_id, patient_id=reminder.patient_id,
                kind="reminder", reminder_id=reminder.id, occurrence_at=occ, due_at=occ,
                expires_at=occ + window))
        for watch in watches:
            due = occ + timedelta(minutes=watch.delay_minutes)
            rows.append(dict(
                dedupe_key=f"w:{reminder.id}:{occ:%Y%m%dT%H%M}:{watch.watcher_id}",
                recipient_id=watch.watcher_id, patient_id=reminder.patient_id,
                kind="watch", reminder_id=reminder.id, occurrence_at=occ, due_at=due,
                expires_at=due + WATCH_WINDOW))
    keys = [r["dedupe_key"] for r in rows]
    existing: set[str] = set()
    for i in range(0, len(keys), 500):
        existing.update(db.session.scalars(
            select(Delivery.dedupe_key).where(Delivery.dedupe_key.in_(keys[i:i + 500]))))
    fresh = [r for r in rows if r["dedupe_key"] not in existing]
    for row in fresh:
        row.setdefault("status", "pending")
        row.setdefault("attempts", 0)
        row.setdefault("devices", 0)
    if fresh:
        db.session.execute(Delivery.__table__.insert(), fresh)
    return len(fresh)


# ---- Doses, snoozes, watches --------------------------------------------------------------

def _occurrence_of(reminder: Reminder, occurrence_at: datetime) -> datetime:
    """The occurrence must be one the rule really produces (no invented doses)."""
    hits = recurrence.occurrences_between(reminder.rrule, reminder.dtstart, reminder.timezone,
                                          occurrence_at, occurrence_at + timedelta(minutes=1))
    if not hits:
        raise UserError(_("This reminder has no occurrence at that time."), field="occurrence")
    return hits[0]


def parse_occurrence(value: str | None) -> datetime:
    try:
        return datetime.fromisoformat((value or "").strip()).replace(tzinfo=None)
    except ValueError:
        raise UserError(_("Please choose an occurrence."), field="occurrence") from None


def record_dose(actor: User, reminder: Reminder, occurrence_at: datetime, via: str = "app",
                now: datetime | None = None) -> Dose:
    """"Taken": idempotent per occurrence; the watchers' alerts for it will not be sent."""
    policy.require(actor, "reminder.take", reminder)
    occurrence_at = _occurrence_of(reminder, occurrence_at)
    now = now or utcnow()
    # From the app, a dose far ahead is a mistake; from a notification, the delivery that
    # carried the action already proves the dose was due.
    if via != "push" and occurrence_at - now > timedelta(hours=12):
        raise UserError(_("This dose is not due yet."), field="occurrence")
    dose = db.session.scalar(select(Dose).where(Dose.reminder_id == reminder.id,
                                                Dose.occurrence_at == occurrence_at))
    if dose is not None:
        return dose
    dose = Dose(reminder_id=reminder.id, occurrence_at=occurrence_at, recorded_at=now,
                recorded_by_id=actor.id, via=via)
    db.session.add(dose)
    _skip_pending_for(reminder.id, occurrence_at, now)
    _audit(actor, reminder.patient, "taken", "medication", reminder.id)
    try:
        db.session.commit()
    except IntegrityError:  # a second tap at the same instant: the first one counts
        db.session.rollback()
        dose = db.session.scalar(select(Dose).where(Dose.reminder_id == reminder.id,
                                                    Dose.occurrence_at == occurrence_at))
    return dose


def _skip_pending_for(reminder_id: int, occurrence_at: datetime, now: datetime) -> None:
    for delivery in db.session.scalars(
        select(Delivery).where(Delivery.reminder_id == reminder_id,
                               Delivery.occurrence_at == occurrence_at,
                               Delivery.status == "pending")
    ):
        delivery.status = "skipped"
        delivery.finished_at = now


def snooze(actor: User, reminder: Reminder, occurrence_at: datetime,
           now: datetime | None = None) -> Delivery:
    """Remind the patient again in 10 minutes (the watchers' alert keeps its time)."""
    policy.require(actor, "reminder.take", reminder)
    occurrence_at = _occurrence_of(reminder, occurrence_at)
    now = now or utcnow()
    if db.session.scalar(select(Dose.id).where(Dose.reminder_id == reminder.id,
                                               Dose.occurrence_at == occurrence_at)):
        raise Conflict(_("This dose is already recorded as taken."))
    pending = db.session.scalar(select(Delivery).where(
        Delivery.reminder_id == reminder.id, Delivery.occurrence_at == occurrence_at,
        Delivery.kind == "snooze", Delivery.status == "pending"))
    if pending is not None:  # a second tap: one snooze is enough
        return pending
    due = now + timedelta(minutes=SNOOZE_MINUTES)
    delivery = Delivery(
        dedupe_key=f"s:{reminder.id}:{occurrence_at:%Y%m%dT%H%M}:{due:%Y%m%dT%H%M%S}",
        recipient_id=reminder.patient_id, patient_id=reminder.patient_id, kind="snooze",
        reminder_id=reminder.id, occurrence_at=occurrence_at, due_at=due,
        expires_at=due + SNOOZE_WINDOW)
    db.session.add(delivery)
    _audit(actor, reminder.patient, "snooze", "medication", reminder.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("This reminder is already snoozed.")) from None
    return delivery


def parse_delay(value) -> int:
    raw = str(value if value is not None else DEFAULT_WATCH_DELAY).strip()
    if not raw.isdigit() or int(raw) not in WATCH_DELAYS:
        raise UserError(_("Please choose a delay from the list."), field="delay")
    return int(raw)


def watch(actor: User, reminder: Reminder, delay_minutes, now: datetime | None = None
          ) -> ReminderWatch:
    policy.require(actor, "reminder.watch", reminder)
    delay = parse_delay(delay_minutes)
    now = now or utcnow()
    existing = db.session.scalar(select(ReminderWatch).where(
        ReminderWatch.reminder_id == reminder.id, ReminderWatch.watcher_id == actor.id))
    if existing is None:
        existing = ReminderWatch(reminder_id=reminder.id, watcher_id=actor.id,
                                 delay_minutes=delay)
        db.session.add(existing)
    else:
        existing.delay_minutes = delay
    db.session.flush()
    _rebuild_watch_deliveries(reminder, existing, now)
    _audit(actor, reminder.patient, "watch", "medication", reminder.id)
    db.session.commit()
    return existing


def unwatch(actor: User, reminder: Reminder) -> None:
    policy.require(actor, "reminder.watch", reminder)
    db.session.execute(delete(Delivery).where(
        Delivery.reminder_id == reminder.id, Delivery.recipient_id == actor.id,
        Delivery.kind == "watch", Delivery.status == "pending"))
    db.session.execute(delete(ReminderWatch).where(
        ReminderWatch.reminder_id == reminder.id, ReminderWatch.watcher_id == actor.id))
    _audit(actor, reminder.patient, "unwatch", "medication", reminder.id)
    db.session.commit()


def _rebuild_watch_deliveries(reminder: Reminder, watch_row: ReminderWatch,
                              now: datetime) -> None:
    db.session.execute(delete(Delivery).where(
        Delivery.reminder_id == reminder.id, Delivery.recipient_id == watch_row.watcher_id,
        Delivery.kind == "watch", Delivery.status == "pending"))
    taken = set(db.session.scalars(select(Dose.occurrence_at).where(
        Dose.reminder_id == reminder.id)))
    occurrences = [
        occ for occ in db.session.scalars(select(Delivery.occurrence_at).where(
            Delivery.reminder_id == reminder.id, Delivery.kind == "reminder"))
        if occ + timedelta(minutes=watch_row.delay_minutes) > now and occ not in taken
    ]
    _add_occurrence_deliveries(reminder, sorted(set(occurrences)), watches=[watch_row],
                               patient_too=False)


def watch_of(user: User, reminder: Reminder) -> ReminderWatch | None:
    return db.session.scalar(select(ReminderWatch).where(
        ReminderWatch.reminder_id == reminder.id, ReminderWatch.watcher_id == user.id))


# ---- Reading: the day list and the month ---------------------------------------------------

@dataclass
class Entry:
    kind: str  # appointment | reminder
    at: datetime  # UTC
    local: datetime
    item: object
    occurrence_at: datetime | None = None
    taken: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.item.id}-{self.at:%Y%m%d%H%M}"


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
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
        (d.reminder_id, d.occurrence_at) for d in db.session.scalars(
            select(Dose).where(Dose.reminder_id.in_([r.id for r in reminders]),
                               Dose.occurrence_at >= start_utc, Dose.occurrence_at < end_utc))
    } if reminders else set()
    for reminder in reminders:
        for occ in recurrence.occurrences_between(reminder.rrule, reminder.dtstart,
                                                  reminder.timezone, start_utc, end_utc):
            out.append(Entry("reminder", occ, recurrence.to_local(occ, tz), reminder,
                             occurrence_at=occ, taken=(reminder.id, occ) in taken))
    out.sort(key=lambda e: (e.at, e.kind))
    return out


def agenda_days(actor: User, patient: User, first_day: date, days: int = 7
                ) -> list[tuple[date, list[Entry]]]:
    """The day list: `first_day` (today by default) first, then the following days."""
    tz = user_tz(actor)
    start, _ = _day_bounds(first_day, tz)
    _, end = _day_bounds(first_day + timedelta(days=days - 1), tz)
    entries = entries_between(patient, start, end, tz)
    grouped: dict[date, list[Entry]] = {first_day + timedelta(days=i): [] for i in range(days)}
    for entry in entries:
        day = entry.local.date()
        if day in grouped:
            grouped[day].append(entry)
    _audit(actor, patient, "read", "agenda")
    db.session.commit()
    return list(grouped.items())


def month_counts(actor: User, patient: User, year: int, month: int) -> dict[date, int]:
    tz = user_tz(actor)
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    start, _ = _day_bounds(first, tz)
    end, _ = _day_bounds(following, tz)
    counts: dict[date, int] = {}
    for entry in entries_between(patient, start, end, tz):
        counts[entry.local.date()] = counts.get(entry.local.date(), 0) + 1
    _audit(actor, patient, "read", "agenda")
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


def deliveries_of(reminder: Reminder, limit: int = 10) -> list[Delivery]:
    """Recent delivery outcomes (what was sent, missed, skipped), newest first."""
    return db.session.scalars(
        select(Delivery).where(Delivery.reminder_id == reminder.id,
                               Delivery.status != "pending")
        .order_by(Delivery.due_at.desc()).limit(limit)
    ).all()


# ---- The calendar feed ---------------------------------------------------------------------

def _feed_token(feed: CalendarFeed) -> str:
    mac = hmac.new(current_app.secret_key.encode(), f"agenda.feed:{feed.id}:{feed.nonce}".encode(),
                   hashlib.sha256).hexdigest()[:40]
    return f"{feed.id}-{mac}"


def feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def feed_token(feed: CalendarFeed) -> str:
    return _feed_token(feed)


def create_or_regenerate_feed(user: User, show_details: bool) -> CalendarFeed:
    """A new secret URL; the previous one stops working at once."""
    policy.require(user, "agenda.feed", None)
    feed = feed_of(user)
    if feed is None:
        feed = CalendarFeed(user_id=user.id, created_at=utcnow())
        db.session.add(feed)
    feed.nonce = secrets.token_urlsafe(32)
    feed.show_details = bool(show_details)
    feed.created_at = utcnow()
    db.session.commit()
    return feed


def revoke_feed(user: User) -> None:
    policy.require(user, "agenda.feed", None)
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    db.session.commit()


def feed_by_token(token: str) -> CalendarFeed:
    """The feed this secret names; NotFound for anything else (revoked, regenerated, forged)."""
    token = (token or "").strip()
    head, _sep, _mac = token.partition("-")
    if not head.isdigit() or len(token) > 80:
        raise NotFound(_("This calendar link does not exist."))
    feed = db.session.get(CalendarFeed, int(head))
    if feed is None or not hmac.compare_digest(_feed_token(feed), token):
        raise NotFound(_("This calendar link does not exist."))
    if not feed.user.is_active:
        raise NotFound(_("This calendar link does not exist."))
    return feed


def feed_entries(feed: CalendarFeed, now: datetime | None = None
                 ) -> list[tuple[User, list[Appointment]]]:
    """Appointments (30 days back, a year ahead) of every patient whose agenda the owner sees.

    Access is checked at every fetch: a revoked grant empties the feed at the next sync.
    Someone other than the patient reading it leaves one history row per patient.
    """
    from ..circle import services as circle

    now = now or utcnow()
    user = feed.user
    out = []
    for patient in circle.patients_for(user, "agenda"):
        if not policy.can(user, "agenda.read", patient):
            continue
        appointments = db.session.scalars(
            select(Appointment).where(Appointment.patient_id == patient.id,
                                      Appointment.status == "accepted",
                                      Appointment.starts_at >= now - timedelta(days=30),
                                      Appointment.starts_at < now + timedelta(days=366))
            .order_by(Appointment.starts_at)
        ).all()
        _audit(user, patient, "read", "ics")
        out.append((patient, appointments))
    feed.last_fetched_at = now
    db.session.commit()
    return out
