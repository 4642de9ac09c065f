"""Appointments: the form (new and edit), creating, showing, deleting, a professional's
proposal answered by the patient, the confirmation, and a relative's "Remind me too"."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import policy
from ...errors import Conflict, UserError
from ...extensions import db
from ...htmx import redirect_to, render, wants_fragment
from .. import bp, recurrence, services
from .common import done, form_echo, page_context, parse_day, patient_or_page, submit


def _appointment_form(patient, appointment=None, data=None, error=None, status=200):
    professionals = services.circle_professionals(patient)
    can_remind_me_too = appointment is None and policy.can(
        current_user, "appointment.watch_for", patient)
    return render("agenda/appointment_form.html", "agenda/_appointment_form.html",
                  status=status, **page_context(patient, appointment=appointment, data=data,
                                           error=error, professionals=professionals,
                                           offset_choices=OFFSET_CHOICES(),
                                           can_remind_me_too=can_remind_me_too))


def OFFSET_CHOICES():  # noqa: N802 - a constant that needs the request's language
    return [(10080, _("1 week before")), (2880, _("2 days before")), (1440, _("1 day before")),
            (120, _("2 hours before")), (60, _("1 hour before")), (30, _("30 minutes before")),
            (0, _("At the start"))]


def _appointment_data(appointment):
    tz = services.user_tz(current_user)
    return dict(
        title=appointment.title, with_text=appointment.with_text, place=appointment.place,
        notes=appointment.notes, professional_id=appointment.professional_id or "",
        starts=f"{recurrence.to_local(appointment.starts_at, tz):%Y-%m-%dT%H:%M}",
        ends=f"{recurrence.to_local(appointment.ends_at, tz):%Y-%m-%dT%H:%M}",
        offsets=appointment.offsets)


@bp.get("/appointments/new")
@login_required
def new_appointment():
    patient, page = patient_or_page(required=True)
    if page is not None:
        return page
    action = "appointment.propose" if current_user.is_professional else "appointment.create"
    policy.require(current_user, action, patient)
    day = parse_day(request.args.get("day"))
    data = dict(starts=f"{day:%Y-%m-%d}T09:00", ends=f"{day:%Y-%m-%d}T09:30",
                offsets=list(services.DEFAULT_OFFSETS), remind_me="1")
    return _appointment_form(patient, data=data)


@bp.post("/appointments")
@login_required
def create_appointment():
    patient, page = patient_or_page(required=True)
    if page is not None:
        return page
    appointment, refused = submit(
        lambda: services.create_appointment(
            current_user, patient, services.AppointmentInput.from_form(request.form),
            remind_me_too=request.form.get("remind_me") == "1"),
        lambda exc: _appointment_form(patient, data=form_echo(), error=exc, status=422))
    if refused:
        return refused
    message = (_("The appointment is proposed to the patient.")
               if appointment.status == "proposed" else _("The appointment is in the agenda."))
    return done(message, url_for("agenda.appointment", appointment_id=appointment.id))


def _patient_when(appt) -> str:
    """When the appointment is, on the patient's clock (shown to someone in another zone)."""
    tz = services.user_tz(appt.patient)
    starts, ends = (recurrence.to_local(at, tz) for at in (appt.starts_at, appt.ends_at))
    return (f"{format_datetime(starts, 'EEEE d MMMM, HH:mm', rebase=False)} – "
            f"{format_datetime(ends, 'HH:mm', rebase=False)}")


def _appointment_page(appt, notice=None, status=200, notice_kind="success"):
    return render("agenda/appointment.html", "agenda/_appointment.html", status=status,
                  **page_context(appt.patient, appointment=appt, notice=notice,
                                 notice_kind=notice_kind,
                                 patient_when=_patient_when(appt),
                                 over=appt.ends_at <= services.utcnow(),
                                 can_watch=policy.can(current_user, "appointment.watch", appt),
                                 watch=services.appointment_watch_of(current_user, appt)))


@bp.get("/appointments/<int:appointment_id>")
@login_required
def appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, audit_read=True)
    return _appointment_page(appt)


@bp.route("/appointments/<int:appointment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.edit")
    if request.method == "GET":
        return _appointment_form(appt.patient, appointment=appt, data=_appointment_data(appt))
    _done, refused = submit(
        lambda: services.update_appointment(current_user, appt,
                                            services.AppointmentInput.from_form(request.form)),
        lambda exc: _appointment_form(
            appt.patient, appointment=services.get_appointment(
                current_user, appointment_id, "appointment.edit"),
            data=form_echo(), error=exc, status=422))
    return refused or done(_("Changes saved."),
                           url_for("agenda.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/delete")
@login_required
def delete_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.delete")
    services.delete_appointment(current_user, appt)
    return done(_("The appointment is deleted."), url_for("agenda.index"))


@bp.post("/appointments/<int:appointment_id>/respond")
@login_required
def respond(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.respond")
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        raise UserError(_("Please accept or decline."))
    try:
        services.respond_to_proposal(current_user, appt, accept=answer == "accept")
    except Conflict as exc:
        # Answered meanwhile (another tab, a double tap): show the appointment as it now is,
        # with why, rather than an error page that hides what the answer was.
        db.session.rollback()
        appt = services.get_appointment(current_user, appointment_id)
        if wants_fragment():
            return _appointment_page(appt, notice=exc.message, status=exc.status,
                                     notice_kind="info")
        flash(exc.message, "info")
        return redirect_to(url_for("agenda.appointment", appointment_id=appointment_id))
    # Said in words: a changed badge alone leaves the patient unsure the answer was taken.
    notice = (_("You accepted this appointment: it is in your agenda.") if answer == "accept"
              else _("You declined this appointment."))
    if wants_fragment():
        return _appointment_page(appt, notice=notice)
    return done(notice, url_for("agenda.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/confirm")
@login_required
def confirm(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.confirm")
    services.confirm_appointment(current_user, appt)
    if wants_fragment():
        return _appointment_page(appt)
    return redirect_to(url_for("agenda.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/watch")
@login_required
def watch_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.watch")
    services.watch_appointment(current_user, appt)
    return _appointment_page(appt, notice=_("You will get this appointment's reminders too."))


@bp.post("/appointments/<int:appointment_id>/unwatch")
@login_required
def unwatch_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.watch")
    services.unwatch_appointment(current_user, appt)
    return _appointment_page(appt, notice=_("You will no longer get this appointment's reminders."))
