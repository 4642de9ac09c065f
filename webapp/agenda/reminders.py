"""Recurring reminders (medication, measurements, vaccinations, screenings), the deliveries
of their next occurrences, and what is done with an occurrence: the dose taken, a snooze, a
relative watching for a missed dose.

One transaction per user action: validate everything, change rows, audit, commit once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .. import policy
from ..accounts.models import User
from ..errors import Conflict, UserError
from ..extensions import db
from ..ids import to_id
from . import recurrence
from .common import (
    CATCH_UP,
    DEFAULT_WATCH_DELAY,
    HORIZON,
    KIND_WINDOWS,
    MAX_NOTES,
    MAX_TITLE,
    SNOOZE_MINUTES,
    SNOOZE_WINDOW,
    WATCH_DELAYS,
    WATCH_WINDOW,
    audit_action,
    clean_text,
    get_checked,
    user_tz,
    utcnow,
)
from .models import (
    REMINDER_KINDS,
    Delivery,
    Dose,
    Reminder,
    ReminderWatch,
)


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
    title = clean_text(data.title, MAX_TITLE, "title", _("a title"), required=True)
    notes = clean_text(data.notes, MAX_NOTES, "notes", _("the notes"))
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
    audit_action(actor, patient, "write", "reminder", reminder.id)
    db.session.commit()
    return reminder


def get_reminder(actor: User, reminder_id: int, action: str = "reminder.read",
                 audit_read: bool = False) -> Reminder:
    return get_checked(actor, Reminder, reminder_id, action, "reminder",
                       _("This reminder does not exist."), audit_read,
                       deleted=_("This reminder was deleted."))


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
    audit_action(actor, reminder.patient, "write", "reminder", reminder.id)
    db.session.commit()
    return reminder


def delete_reminder(actor: User, reminder: Reminder) -> None:
    policy.require(actor, "reminder.delete", reminder)
    audit_action(actor, reminder.patient, "delete", "reminder", reminder.id)
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
    """The occurrence must be one the rule really produces (no invented doses), or one the
    patient was really reminded of (a notification sent before the patient's zone changed)."""
    hits = recurrence.occurrences_between(reminder.rrule, reminder.dtstart, reminder.timezone,
                                          occurrence_at, occurrence_at + timedelta(minutes=1))
    if hits:
        return hits[0]
    announced = db.session.scalar(select(Delivery.occurrence_at).where(
        Delivery.reminder_id == reminder.id, Delivery.occurrence_at == occurrence_at,
        Delivery.kind == "reminder").limit(1))
    if announced is None:
        raise UserError(_("This reminder has no occurrence at that time."), field="occurrence")
    return announced


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
    audit_action(actor, reminder.patient, "taken", "medication", reminder.id)
    try:
        db.session.commit()
    except IntegrityError:  # a second tap at the same instant: the first one counts
        db.session.rollback()
        dose = db.session.scalar(select(Dose).where(Dose.reminder_id == reminder.id,
                                                    Dose.occurrence_at == occurrence_at))
    return dose


def dose_of(reminder: Reminder, occurrence_at: datetime) -> Dose | None:
    return db.session.scalar(select(Dose).where(Dose.reminder_id == reminder.id,
                                                Dose.occurrence_at == occurrence_at))


def undo_deadline(reminder: Reminder, dose: Dose) -> datetime:
    """Until when a "Taken" may be undone: the end of the day it was recorded on (the
    patient's day: midnight in the reminder's zone), and never less than the reminder's own
    window after the tap (a tap at 23:55 can still be taken back for an hour)."""
    recorded_local = recurrence.to_local(dose.recorded_at, reminder.timezone)
    midnight = recurrence.to_utc(
        datetime.combine(recorded_local.date() + timedelta(days=1), time(0, 0)),
        reminder.timezone)
    return max(midnight, dose.recorded_at + timedelta(minutes=reminder.window_minutes))


def dose_undoable(reminder: Reminder, dose: Dose | None, now: datetime | None = None) -> bool:
    return dose is not None and (now or utcnow()) < undo_deadline(reminder, dose)


def undo_dose(actor: User, reminder: Reminder, occurrence_at: datetime,
              now: datetime | None = None) -> None:
    """Take back a "Taken" tapped by mistake: things go back to what they would have been.

    The notifications of that dose the tap had cancelled (the patient's reminder, a snooze,
    the watchers' alerts) are pending again: one not due yet goes at its time; one whose time
    has passed while the dose looked taken goes at once if still within its own window (the
    worker sends what is due and not expired), and is recorded as missed past it, as the
    worker does for anything late. A watcher who began watching after the tap gets the
    alert the tap had kept from being planned.
    """
    policy.require(actor, "reminder.undo_taken", reminder)
    now = now or utcnow()
    dose = dose_of(reminder, occurrence_at)
    if dose is None:
        raise Conflict(_("This dose is not recorded as taken: there is nothing to undo."))
    if now >= undo_deadline(reminder, dose):
        raise Conflict(_("It is too late to undo this: a dose can be taken back until the end "
                         "of the day it was recorded."))
    recorded_at = dose.recorded_at
    # Two undos at once: only one removes the row, the other is told there is nothing left.
    if db.session.execute(delete(Dose).where(Dose.id == dose.id)).rowcount != 1:
        db.session.rollback()
        raise Conflict(_("This dose is not recorded as taken: there is nothing to undo."))
    _restore_skipped_for(reminder, occurrence_at, recorded_at, now)
    audit_action(actor, reminder.patient, "untaken", "medication", reminder.id)
    db.session.commit()


def _restore_skipped_for(reminder: Reminder, occurrence_at: datetime, recorded_at: datetime,
                         now: datetime) -> None:
    # Settled as "skipped" since the tap: by the tap itself, or by the worker finding the dose
    # taken. The worker asks again (dose, access) when each one is due.
    for delivery in db.session.scalars(
        select(Delivery).where(Delivery.reminder_id == reminder.id,
                               Delivery.occurrence_at == occurrence_at,
                               Delivery.status == "skipped",
                               Delivery.finished_at >= recorded_at)
    ):
        if delivery.expires_at < now:
            delivery.status, delivery.finished_at = "missed", now
        else:
            delivery.status, delivery.finished_at, delivery.claimed_by = "pending", None, None
    still_useful = [w for w in reminder.watches
                    if occurrence_at + timedelta(minutes=w.delay_minutes) + WATCH_WINDOW > now]
    # Only the ones missing (dedupe keys): a watch set up while the dose looked taken.
    _add_occurrence_deliveries(reminder, [occurrence_at], watches=still_useful,
                               patient_too=False)


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
    audit_action(actor, reminder.patient, "snooze", "medication", reminder.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("This reminder is already snoozed.")) from None
    return delivery


def parse_delay(value) -> int:
    delay = to_id(str(value if value is not None else DEFAULT_WATCH_DELAY))
    if delay not in WATCH_DELAYS:
        raise UserError(_("Please choose a delay from the list."), field="delay")
    return delay


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
    audit_action(actor, reminder.patient, "watch", "medication", reminder.id)
    db.session.commit()
    return existing


def unwatch(actor: User, reminder: Reminder) -> None:
    policy.require(actor, "reminder.watch", reminder)
    watch = watch_of(actor, reminder)
    if watch is not None:
        remove_watch(watch)
    audit_action(actor, reminder.patient, "unwatch", "medication", reminder.id)
    db.session.commit()


def remove_watch(watch: ReminderWatch) -> None:
    """A watch and its alerts not sent yet (what was sent stays as the record); not committed."""
    db.session.execute(delete(Delivery).where(
        Delivery.reminder_id == watch.reminder_id, Delivery.recipient_id == watch.watcher_id,
        Delivery.kind == "watch", Delivery.status == "pending"))
    db.session.delete(watch)


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


# ---- The patient's time zone -----------------------------------------------------------------

def follow_patient_timezone(user: User, old: str | None = None, new: str | None = None,
                            now: datetime | None = None, **_extra) -> int:
    """accounts' timezone_changed: the patient's reminders keep their wall-clock times in the
    new zone ("08:00" stays 08:00 where the patient now lives, as a phone alarm does).

    Runs inside the settings' transaction. Occurrences still to come are planned again;
    what was sent, taken or missed stays as the record, and a snooze keeps its time.
    Returns how many reminders moved.
    """
    new = new or user.timezone
    now = now or utcnow()
    moved = 0
    for reminder in db.session.scalars(select(Reminder).where(Reminder.patient_id == user.id,
                                                              Reminder.timezone != new)):
        reminder.timezone = new
        db.session.execute(delete(Delivery).where(
            Delivery.reminder_id == reminder.id, Delivery.kind.in_(("reminder", "watch")),
            Delivery.status == "pending", Delivery.occurrence_at >= now))
        reminder.materialized_until = now
        materialize_reminder(reminder, now)
        moved += 1
    return moved


def connect_signals() -> None:
    from ..accounts.signals import timezone_changed

    timezone_changed.connect(follow_patient_timezone, weak=False)
