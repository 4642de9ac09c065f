"""Appointments: created by the patient or a relative, proposed by a professional (the patient
answers), and the reminders that go before them (their pending deliveries), to the patient and
to the relatives who asked to be reminded too.

One transaction per user action: validate everything, change rows, audit, commit once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .. import policy
from ..accounts.models import User
from ..errors import Conflict, UserError
from ..extensions import db
from ..ids import to_id
from .common import (
    DEFAULT_OFFSETS,
    MAX_APPOINTMENT_HOURS,
    MAX_NOTES,
    MAX_OFFSET_MINUTES,
    MAX_OFFSETS,
    MAX_PLACE,
    MAX_TITLE,
    MAX_WITH,
    audit_action,
    circle_professionals,
    clean_text,
    get_checked,
    parse_local_datetime,
    user_tz,
    utcnow,
)
from .models import (
    Appointment,
    AppointmentWatch,
    Delivery,
)


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
        if not raw.lstrip("-").isdecimal() or len(raw) > 7:
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
    title = clean_text(data.title, MAX_TITLE, "title", _("a title"), required=True)
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
        if to_id(pid) is None:
            raise UserError(_("Please choose a professional from the list."),
                            field="professional_id")
        professional = db.session.get(User, to_id(pid))
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
        with_text=clean_text(data.with_text, MAX_WITH, "with_text", _("the name")),
        place=clean_text(data.place, MAX_PLACE, "place", _("the place")),
        notes=clean_text(data.notes, MAX_NOTES, "notes", _("the notes")),
        reminder_offsets=",".join(map(str, parse_offsets(data.offsets))),
    )


def create_appointment(actor: User, patient: User, data: AppointmentInput,
                       now: datetime | None = None, remind_me_too: bool = False) -> Appointment:
    """The patient or a relative creates; a professional proposes (the patient answers).
    `remind_me_too`: the relative creating it gets its reminders too."""
    proposing = actor.is_professional
    policy.require(actor, "appointment.propose" if proposing else "appointment.create", patient)
    if remind_me_too:
        policy.require(actor, "appointment.watch_for", patient)
    fields = _validated_appointment(actor, patient, data)
    _not_past(fields["starts_at"], now or utcnow())
    appointment = Appointment(patient_id=patient.id, created_by_id=actor.id,
                              status="proposed" if proposing else "accepted")
    if actor.id == patient.id:  # the patient who plans it will be there: no need to ask
        appointment.confirmed_at = utcnow()
    _assign(appointment, fields)
    if remind_me_too:
        appointment.watches.append(AppointmentWatch(watcher_id=actor.id))
    db.session.add(appointment)
    db.session.flush()
    schedule_appointment(appointment, now or utcnow())
    audit_action(actor, patient, "propose" if proposing else "write", "appointment", appointment.id)
    if remind_me_too:
        audit_action(actor, patient, "watch", "appointment", appointment.id)
    db.session.commit()
    return appointment


def _not_past(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise UserError(_("This time has already passed. Please choose a time to come."),
                        field="starts")


def _assign(appointment: Appointment, fields: dict) -> None:
    for key, value in fields.items():
        setattr(appointment, key, value)


def get_appointment(actor: User, appointment_id: int, action: str = "appointment.read",
                    audit_read: bool = False) -> Appointment:
    return get_checked(actor, Appointment, appointment_id, action, "appointment",
                       _("This appointment does not exist."), audit_read,
                       deleted=_("This appointment was deleted."))


def update_appointment(actor: User, appointment: Appointment, data: AppointmentInput,
                       now: datetime | None = None) -> Appointment:
    policy.require(actor, "appointment.edit", appointment)
    fields = _validated_appointment(actor, appointment.patient, data)
    if fields["starts_at"] != appointment.starts_at:  # notes can be written after the visit
        _not_past(fields["starts_at"], now or utcnow())
    if not actor.is_professional and fields["professional_id"] is None:
        fields["professional_id"] = None
    _assign(appointment, fields)
    appointment.updated_at = utcnow()
    # Someone else moved it: the patient is asked again.
    appointment.confirmed_at = utcnow() if actor.id == appointment.patient_id else None
    schedule_appointment(appointment, now or utcnow())
    audit_action(actor, appointment.patient, "write", "appointment", appointment.id)
    db.session.commit()
    return appointment


def delete_appointment(actor: User, appointment: Appointment) -> None:
    policy.require(actor, "appointment.delete", appointment)
    patient = appointment.patient
    audit_action(actor, patient, "delete", "appointment", appointment.id)
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
    if accept:  # accepting is saying "I will be there"
        appointment.confirmed_at = appointment.updated_at
    schedule_appointment(appointment, now or utcnow())
    audit_action(actor, appointment.patient, "accept" if accept else "decline", "appointment",
           appointment.id)
    db.session.commit()
    return appointment


def confirm_appointment(actor: User, appointment: Appointment) -> Appointment:
    policy.require(actor, "appointment.confirm", appointment)
    if appointment.confirmed_at is None:
        appointment.confirmed_at = utcnow()
        audit_action(actor, appointment.patient, "confirm", "appointment", appointment.id)
        db.session.commit()
    return appointment


def schedule_appointment(appointment: Appointment, now: datetime) -> None:
    """(Re)build the pending deliveries of an appointment, for the patient and every relative
    reminded too. Sent ones stay as the record."""
    db.session.execute(delete(Delivery).where(Delivery.appointment_id == appointment.id,
                                              Delivery.status == "pending"))
    if appointment.status != "accepted" or appointment.starts_at <= now:
        return
    existing = set(db.session.scalars(
        select(Delivery.dedupe_key).where(Delivery.appointment_id == appointment.id)))
    recipients = [appointment.patient_id, *(w.watcher_id for w in appointment.watches)]
    for offset in appointment.offsets:
        due = appointment.starts_at - timedelta(minutes=offset)
        if due < now:
            continue  # a reminder whose moment has passed is not invented late
        key = f"a:{appointment.id}:{appointment.starts_at:%Y%m%dT%H%M}:{offset}"
        for recipient_id in recipients:
            recipient_key = key if recipient_id == appointment.patient_id else (
                f"{key}:{recipient_id}")
            if recipient_key in existing:
                continue
            db.session.add(Delivery(
                dedupe_key=recipient_key, recipient_id=recipient_id,
                patient_id=appointment.patient_id, kind="appointment",
                appointment_id=appointment.id, occurrence_at=appointment.starts_at, due_at=due,
                expires_at=min(due + _window_for_offset(offset), appointment.starts_at),
            ))


# ---- "Remind me too" -------------------------------------------------------------------------

def appointment_watch_of(user: User, appointment: Appointment) -> AppointmentWatch | None:
    return next((w for w in appointment.watches if w.watcher_id == user.id), None)


def watch_appointment(actor: User, appointment: Appointment,
                      now: datetime | None = None) -> AppointmentWatch:
    """A relative gets this appointment's reminders too (idempotent)."""
    policy.require(actor, "appointment.watch", appointment)
    watch = appointment_watch_of(actor, appointment)
    if watch is None:
        watch = AppointmentWatch(appointment_id=appointment.id, watcher_id=actor.id)
        appointment.watches.append(watch)
        db.session.flush()
        schedule_appointment(appointment, now or utcnow())
        audit_action(actor, appointment.patient, "watch", "appointment", appointment.id)
    db.session.commit()
    return watch


def unwatch_appointment(actor: User, appointment: Appointment) -> None:
    """No more reminders of this appointment for this relative; what was sent stays."""
    policy.require(actor, "appointment.watch", appointment)
    watch = appointment_watch_of(actor, appointment)
    if watch is None:
        return
    remove_appointment_watch(watch)
    audit_action(actor, appointment.patient, "unwatch", "appointment", appointment.id)
    db.session.commit()


def remove_appointment_watch(watch: AppointmentWatch) -> None:
    """A watch and its reminders not sent yet (what was sent stays as the record); not
    committed."""
    db.session.execute(delete(Delivery).where(
        Delivery.appointment_id == watch.appointment_id,
        Delivery.recipient_id == watch.watcher_id, Delivery.status == "pending"))
    db.session.delete(watch)
