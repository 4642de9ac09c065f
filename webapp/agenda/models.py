"""The agenda: appointments, recurring reminders, doses taken, and the delivery queue.

Times are naive UTC, except `Reminder.dtstart`, which is the wall-clock start in the
reminder's own time zone: a daily 08:00 medication must stay at 08:00 local across
daylight-saving changes, so recurrence is expanded in local time and converted per occurrence.
Free text that can reveal health (titles, places, notes, with whom) is sealed at rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import crypto
from ..accounts.models import User
from ..extensions import db


def _aad(table: str, column: str) -> bytes:
    # Binds a ciphertext to its column: a sealed place pasted into a title no longer opens.
    return f"agenda.{table}.{column}".encode()


class Sealed:
    """A str attribute stored sealed in `<name>_sealed` ("" and None store nothing)."""

    def __init__(self, column: str | None = None):
        self.column = column

    def __set_name__(self, owner, name):
        self.column = self.column or f"{name}_sealed"
        self.aad = _aad(owner.__tablename__, self.column)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        return crypto.open_text(blob, self.aad) if blob else ""

    def __set__(self, obj, value):
        setattr(obj, self.column, crypto.seal(value, self.aad) if value else None)


APPOINTMENT_STATUSES = ("proposed", "accepted", "declined")
REMINDER_KINDS = ("medication", "measurement", "vaccination", "screening")


class Appointment(db.Model):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    professional_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    with_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    place_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    # Minutes before the start, comma-separated (defaults: a day and an hour before).
    reminder_offsets: Mapped[str] = mapped_column(String(100), default="1440,60")
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]

    title = Sealed()
    with_text = Sealed("with_sealed")
    place = Sealed()
    notes = Sealed()

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    professional: Mapped[User | None] = relationship(foreign_keys=[professional_id])
    watches: Mapped[list[AppointmentWatch]] = relationship(
        back_populates="appointment", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def offsets(self) -> list[int]:
        return [int(x) for x in self.reminder_offsets.split(",") if x.strip()]

    @property
    def with_label(self) -> str:
        if self.professional is not None:
            return self.professional.display_name
        return self.with_text


class AppointmentWatch(db.Model):
    """A relative who gets the appointment's reminders too ("Remind me too")."""

    __tablename__ = "appointment_watches"
    __table_args__ = (UniqueConstraint("appointment_id", "watcher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    watcher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    appointment: Mapped[Appointment] = relationship(back_populates="watches")
    watcher: Mapped[User] = relationship()


class Reminder(db.Model):
    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    title_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # RRULE without DTSTART, e.g. "FREQ=DAILY;BYHOUR=8;BYMINUTE=0".
    rrule: Mapped[str] = mapped_column(Text)
    dtstart: Mapped[datetime]  # wall clock in `timezone`
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    # How late a reminder may still be sent; later than this it is recorded as missed.
    window_minutes: Mapped[int] = mapped_column(default=60)
    active: Mapped[bool] = mapped_column(default=True)
    # Deliveries exist up to this instant (UTC); the worker extends the horizon.
    materialized_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime | None]

    title = Sealed()
    notes = Sealed()

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    watches: Mapped[list[ReminderWatch]] = relationship(
        back_populates="reminder", cascade="all, delete-orphan", passive_deletes=True
    )


class ReminderWatch(db.Model):
    """A relative watching a medication reminder: alerted when no dose is confirmed in time."""

    __tablename__ = "reminder_watches"
    __table_args__ = (UniqueConstraint("reminder_id", "watcher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(
        ForeignKey("reminders.id", ondelete="CASCADE"), index=True
    )
    watcher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delay_minutes: Mapped[int] = mapped_column(default=60)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    reminder: Mapped[Reminder] = relationship(back_populates="watches")
    watcher: Mapped[User] = relationship()


class Dose(db.Model):
    """One occurrence of a reminder confirmed as done ("Taken")."""

    __tablename__ = "reminder_doses"
    __table_args__ = (UniqueConstraint("reminder_id", "occurrence_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminders.id", ondelete="CASCADE"))
    occurrence_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(10), default="app")  # app | push


DELIVERY_KINDS = ("appointment", "reminder", "snooze", "watch")
DELIVERY_STATUSES = ("pending", "sending", "sent", "undelivered", "missed", "skipped")


class Delivery(db.Model):
    """One notification to send at `due_at`, then the record of what happened to it."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (Index("ix_reminder_deliveries_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Makes materialising idempotent, whoever does it and however often.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("reminders.id", ondelete="CASCADE"), index=True
    )
    occurrence_at: Mapped[datetime]
    due_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    devices: Mapped[int] = mapped_column(default=0)

    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])
    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    appointment: Mapped[Appointment | None] = relationship()
    reminder: Mapped[Reminder | None] = relationship()


class CalendarFeed(db.Model):
    """A user's secret calendar URL. The token is derived from `nonce`; a new nonce revokes it."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    show_details: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    last_fetched_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


def _constant(value: bytes):
    return lambda row: value


# `flask keys rotate` re-seals these columns under the current key.
for _model, _columns in ((Appointment, ("title", "with", "place", "notes")),
                         (Reminder, ("title", "notes"))):
    for _name in _columns:
        crypto.register_sealed(_model, f"{_name}_sealed",
                               aad=_constant(_aad(_model.__tablename__, f"{_name}_sealed")))
