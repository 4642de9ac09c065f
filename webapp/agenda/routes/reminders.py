"""Recurring reminders: the form (new and edit), creating, showing (the next occurrences and
the delivery history), deleting; and what is done with an occurrence: the dose taken, a
snooze, a relative watching for a missed dose."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import policy
from ...errors import UserError
from ...extensions import db
from ...htmx import redirect_to, render, wants_fragment
from .. import bp, recurrence, services
from ..models import REMINDER_KINDS
from .common import (
    done,
    form_echo,
    local_today,
    page_context,
    patient_or_page,
    submit,
    weekday_labels,
)


def _reminder_form(patient, reminder=None, data=None, error=None, status=200):
    return render("agenda/reminder_form.html", "agenda/_reminder_form.html", status=status,
                  **page_context(patient, reminder=reminder, data=data or {}, error=error,
                            weekdays=weekday_labels(), kinds=REMINDER_KINDS))


@bp.get("/reminders/new")
@login_required
def new_reminder():
    patient, page = patient_or_page(required=True)
    if page is not None:
        return page
    policy.require(current_user, "reminder.create", patient)
    kind = request.args.get("kind", "medication")
    data = dict(kind=kind if kind in REMINDER_KINDS else "medication", freq="daily",
                times=["08:00"], start=f"{local_today():%Y-%m-%d}", mode="builder")
    return _reminder_form(patient, data=data)


@bp.post("/reminders")
@login_required
def create_reminder():
    patient, page = patient_or_page(required=True)
    if page is not None:
        return page
    reminder, refused = submit(
        lambda: services.create_reminder(current_user, patient,
                                         services.ReminderInput.from_form(request.form)),
        lambda exc: _reminder_form(patient, data=form_echo(), error=exc, status=422))
    return refused or done(_("The reminder is set."),
                           url_for("agenda.reminder", reminder_id=reminder.id))


def _reminder_page(reminder, **extra):
    now = services.utcnow()
    tz = services.user_tz(current_user)
    soon = now + timedelta(hours=12)
    occurrences = [(occ, recurrence.to_local(occ, tz), dose, occ <= soon)
                   for occ, dose in services.upcoming_doses(reminder, now)]
    watch = services.watch_of(current_user, reminder)
    return render("agenda/reminder.html", "agenda/_reminder.html",
                  **page_context(reminder.patient, reminder=reminder, occurrences=occurrences,
                            watch=watch, delays=services.WATCH_DELAYS,
                            can_watch=policy.can(current_user, "reminder.watch", reminder),
                            can_take=policy.can(current_user, "reminder.take", reminder),
                            can_edit=policy.can(current_user, "reminder.edit", reminder),
                            history=services.deliveries_of(reminder), **extra))


@bp.get("/reminders/<int:reminder_id>")
@login_required
def reminder(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, audit_read=True)
    return _reminder_page(rem)


def _reminder_data(reminder):
    data = dict(kind=reminder.kind, title=reminder.title, notes=reminder.notes, mode="rrule",
                rrule=reminder.rrule, start=f"{reminder.dtstart:%Y-%m-%d}")
    simple = recurrence.builder_fields(reminder.rrule, reminder.dtstart)
    if simple is not None:  # made with the friendly form: edit it there
        data.update(simple, mode="builder")
    return data


@bp.route("/reminders/<int:reminder_id>/edit", methods=["GET", "POST"])
@login_required
def edit_reminder(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.edit")
    if request.method == "GET":
        return _reminder_form(rem.patient, reminder=rem, data=_reminder_data(rem))
    _done, refused = submit(
        lambda: services.update_reminder(current_user, rem,
                                         services.ReminderInput.from_form(request.form)),
        lambda exc: _reminder_form(
            rem.patient, reminder=services.get_reminder(current_user, reminder_id,
                                                        "reminder.edit"),
            data=form_echo(), error=exc, status=422))
    return refused or done(_("Changes saved."),
                           url_for("agenda.reminder", reminder_id=reminder_id))


@bp.post("/reminders/<int:reminder_id>/delete")
@login_required
def delete_reminder(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.delete")
    services.delete_reminder(current_user, rem)
    return done(_("The reminder is deleted."), url_for("agenda.index"))


def _taken_fragment(reminder, occurrence, dose, status=200, **extra):
    """The "Taken" mark of one dose, as the day list and the reminder page show it."""
    tz = services.user_tz(current_user)
    return render("agenda/reminder.html", "agenda/_taken.html", status=status,
                  **page_context(reminder.patient, reminder=reminder, occurrence=occurrence,
                                 dose=dose, local=recurrence.to_local(occurrence, tz), **extra))


@bp.post("/reminders/<int:reminder_id>/taken")
@login_required
def taken(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.take")
    occurrence = services.parse_occurrence(request.form.get("occurrence"))
    dose = services.record_dose(current_user, rem, occurrence)
    if wants_fragment():
        return _taken_fragment(rem, dose.occurrence_at, dose)
    return redirect_to(_back(url_for("agenda.reminder", reminder_id=reminder_id)))


@bp.post("/reminders/<int:reminder_id>/taken/undo")
@login_required
def undo_taken(reminder_id: int):
    """Take back a "Taken" tapped by mistake (the rest of that day)."""
    rem = services.get_reminder(current_user, reminder_id, "reminder.undo_taken")
    occurrence = services.parse_occurrence(request.form.get("occurrence"))
    try:
        services.undo_dose(current_user, rem, occurrence)
    except UserError as exc:
        if not wants_fragment() or exc.status == 403:
            raise
        # In place: the mark as it stands, with the reason nothing changed.
        db.session.rollback()
        return _taken_fragment(rem, occurrence, services.dose_of(rem, occurrence),
                               status=exc.status, error=exc)
    if wants_fragment():
        return _taken_fragment(rem, occurrence, None, undone=True)
    flash(_("Undone: this dose is no longer recorded as taken."), "success")
    return redirect_to(_back(url_for("agenda.reminder", reminder_id=reminder_id)))


@bp.post("/reminders/<int:reminder_id>/snooze")
@login_required
def snooze(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.take")
    occurrence = services.parse_occurrence(request.form.get("occurrence"))
    services.snooze(current_user, rem, occurrence)
    return _reminder_page(rem, notice=_("We will remind you again in 10 minutes."))


@bp.post("/reminders/<int:reminder_id>/watch")
@login_required
def watch(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.watch")
    services.watch(current_user, rem, request.form.get("delay"))
    return _reminder_page(rem, notice=_("You will be alerted if the dose is not confirmed."))


@bp.post("/reminders/<int:reminder_id>/unwatch")
@login_required
def unwatch(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.watch")
    services.unwatch(current_user, rem)
    return _reminder_page(rem, notice=_("You no longer watch this reminder."))


def _back(default: str) -> str:
    target = request.form.get("next", "")
    if target.startswith("/agenda") and "//" not in target and "\\" not in target:
        return target
    return default
