"""HTTP views (thin): parse, ask services, render."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import policy
from ..accounts.fresh import fresh_auth_required
from ..errors import Forbidden, UserError
from ..extensions import csrf, db, limiter
from ..htmx import redirect_to, render, wants_fragment
from . import bp, ics, recurrence, services, worker
from .models import REMINDER_KINDS, Delivery


def _patient_or_page(required: bool = False):
    """The patient whose agenda this is, or the page explaining there is none.

    `required`: an action on an agenda (new, create) is refused outright instead.
    """
    patient = services.acting_patient(current_user)
    if patient is None or not policy.can(current_user, "agenda.read", patient):
        if required:
            raise Forbidden(_("You do not have access to this."))
        return None, render("agenda/no_patient.html", status=200)
    return patient, None


def _today() -> date:
    return recurrence.to_local(services.utcnow(), services.user_tz(current_user)).date()


def _parse_day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else _today()
    except ValueError:
        return _today()


def _weekdays():
    return list(zip(recurrence.WEEKDAYS, (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"),
                                          _("Sat"), _("Sun")), strict=True))


def _kind_labels():
    return {"medication": _("Medication"), "measurement": _("Measurement"),
            "vaccination": _("Vaccination"), "screening": _("Screening")}


def _common(patient, **extra):
    ctx = dict(patient=patient, today=_today(), kind_labels=_kind_labels(),
               describe=recurrence.describe, acting=patient.id != current_user.id,
               can_write=policy.can(current_user, "agenda.write", patient),
               soon=services.utcnow() + timedelta(hours=12))
    ctx.update(extra)
    return ctx


# ---- The day list and the month -----------------------------------------------------------

@bp.get("/")
@login_required
def index():
    patient, page = _patient_or_page()
    if page is not None:
        return page
    first = _parse_day(request.args.get("day"))
    days = services.agenda_days(current_user, patient, first, days=7)
    proposals = services.pending_proposals(patient)
    return render("agenda/index.html", "agenda/_days.html",
                  **_common(patient, days=days, first=first, proposals=proposals,
                            prev_day=first - timedelta(days=7),
                            next_day=first + timedelta(days=7)))


@bp.get("/month")
@login_required
def month():
    patient, page = _patient_or_page()
    if page is not None:
        return page
    today = _today()
    year, month_ = today.year, today.month
    value = request.args.get("m", "")
    try:
        year, month_ = (int(x) for x in value.split("-")) if value else (year, month_)
        date(year, month_, 1)
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        year, month_ = today.year, today.month
    counts = services.month_counts(current_user, patient, year, month_)
    first = date(year, month_, 1)
    start = first - timedelta(days=first.weekday())
    weeks = [[start + timedelta(days=7 * w + d) for d in range(7)] for w in range(6)]
    if weeks[-1][0].month != month_:
        weeks = weeks[:-1]
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return render("agenda/month.html", "agenda/_month.html",
                  **_common(patient, counts=counts, first=first, weeks=weeks,
                            prev_month=prev_month, next_month=next_month,
                            weekdays=_weekdays()))


# ---- Appointments -------------------------------------------------------------------------

def _appointment_form(patient, appointment=None, data=None, error=None, status=200):
    professionals = services.circle_professionals(patient)
    return render("agenda/appointment_form.html", "agenda/_appointment_form.html",
                  status=status, **_common(patient, appointment=appointment, data=data,
                                           error=error, professionals=professionals,
                                           offset_choices=OFFSET_CHOICES()))


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
    patient, page = _patient_or_page(required=True)
    if page is not None:
        return page
    action = "appointment.propose" if current_user.is_professional else "appointment.create"
    policy.require(current_user, action, patient)
    day = _parse_day(request.args.get("day"))
    data = dict(starts=f"{day:%Y-%m-%d}T09:00", ends=f"{day:%Y-%m-%d}T09:30",
                offsets=list(services.DEFAULT_OFFSETS))
    return _appointment_form(patient, data=data)


@bp.post("/appointments")
@login_required
def create_appointment():
    patient, page = _patient_or_page(required=True)
    if page is not None:
        return page
    appointment, refused = _submit(
        lambda: services.create_appointment(
            current_user, patient, services.AppointmentInput.from_form(request.form)),
        lambda exc: _appointment_form(patient, data=_form_echo(), error=exc, status=422))
    return refused or redirect_to(url_for("agenda.appointment", appointment_id=appointment.id))


def _submit(write, form_again):
    """Run one user action; input it refuses shows the form again (422) with what was typed."""
    try:
        return write(), None
    except UserError as exc:
        if exc.status != 400:
            raise
        db.session.rollback()
        return None, form_again(exc)


def _form_echo() -> dict:
    data = request.form.to_dict()
    data["offsets"] = [int(x) for x in request.form.getlist("offsets") if x.isdigit()]
    data["weekdays"] = request.form.getlist("weekdays")
    data["times"] = request.form.getlist("times")
    return data


@bp.get("/appointments/<int:appointment_id>")
@login_required
def appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, audit_read=True)
    return render("agenda/appointment.html", "agenda/_appointment.html",
                  **_common(appt.patient, appointment=appt))


@bp.route("/appointments/<int:appointment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.edit")
    if request.method == "GET":
        return _appointment_form(appt.patient, appointment=appt, data=_appointment_data(appt))
    _done, refused = _submit(
        lambda: services.update_appointment(current_user, appt,
                                            services.AppointmentInput.from_form(request.form)),
        lambda exc: _appointment_form(
            appt.patient, appointment=services.get_appointment(
                current_user, appointment_id, "appointment.edit"),
            data=_form_echo(), error=exc, status=422))
    return refused or redirect_to(url_for("agenda.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/delete")
@login_required
def delete_appointment(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.delete")
    services.delete_appointment(current_user, appt)
    return redirect_to(url_for("agenda.index"))


@bp.post("/appointments/<int:appointment_id>/respond")
@login_required
def respond(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.respond")
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        raise UserError(_("Please accept or decline."))
    services.respond_to_proposal(current_user, appt, accept=answer == "accept")
    if wants_fragment():
        return render("agenda/appointment.html", "agenda/_appointment.html",
                      **_common(appt.patient, appointment=appt))
    return redirect_to(url_for("agenda.appointment", appointment_id=appointment_id))


@bp.post("/appointments/<int:appointment_id>/confirm")
@login_required
def confirm(appointment_id: int):
    appt = services.get_appointment(current_user, appointment_id, "appointment.confirm")
    services.confirm_appointment(current_user, appt)
    if wants_fragment():
        return render("agenda/appointment.html", "agenda/_appointment.html",
                      **_common(appt.patient, appointment=appt))
    return redirect_to(url_for("agenda.appointment", appointment_id=appointment_id))


# ---- Reminders ----------------------------------------------------------------------------

def _reminder_form(patient, reminder=None, data=None, error=None, status=200):
    return render("agenda/reminder_form.html", "agenda/_reminder_form.html", status=status,
                  **_common(patient, reminder=reminder, data=data or {}, error=error,
                            weekdays=_weekdays(), kinds=REMINDER_KINDS))


@bp.get("/reminders/new")
@login_required
def new_reminder():
    patient, page = _patient_or_page(required=True)
    if page is not None:
        return page
    policy.require(current_user, "reminder.create", patient)
    kind = request.args.get("kind", "medication")
    data = dict(kind=kind if kind in REMINDER_KINDS else "medication", freq="daily",
                times=["08:00"], start=f"{_today():%Y-%m-%d}", mode="builder")
    return _reminder_form(patient, data=data)


@bp.post("/reminders")
@login_required
def create_reminder():
    patient, page = _patient_or_page(required=True)
    if page is not None:
        return page
    reminder, refused = _submit(
        lambda: services.create_reminder(current_user, patient,
                                         services.ReminderInput.from_form(request.form)),
        lambda exc: _reminder_form(patient, data=_form_echo(), error=exc, status=422))
    return refused or redirect_to(url_for("agenda.reminder", reminder_id=reminder.id))


def _reminder_page(reminder, **extra):
    now = services.utcnow()
    upcoming = recurrence.next_occurrences(reminder.rrule, reminder.dtstart, reminder.timezone,
                                           now - timedelta(hours=12), n=5)
    from .models import Dose

    taken = set(db.session.scalars(db.select(Dose.occurrence_at).where(
        Dose.reminder_id == reminder.id, Dose.occurrence_at.in_(upcoming)))) if upcoming else set()
    tz = services.user_tz(current_user)
    soon = now + timedelta(hours=12)
    occurrences = [(occ, recurrence.to_local(occ, tz), occ in taken, occ <= soon)
                   for occ in upcoming]
    watch = services.watch_of(current_user, reminder)
    return render("agenda/reminder.html", "agenda/_reminder.html",
                  **_common(reminder.patient, reminder=reminder, occurrences=occurrences,
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
    _done, refused = _submit(
        lambda: services.update_reminder(current_user, rem,
                                         services.ReminderInput.from_form(request.form)),
        lambda exc: _reminder_form(
            rem.patient, reminder=services.get_reminder(current_user, reminder_id,
                                                        "reminder.edit"),
            data=_form_echo(), error=exc, status=422))
    return refused or redirect_to(url_for("agenda.reminder", reminder_id=reminder_id))


@bp.post("/reminders/<int:reminder_id>/delete")
@login_required
def delete_reminder(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.delete")
    services.delete_reminder(current_user, rem)
    return redirect_to(url_for("agenda.index"))


@bp.post("/reminders/<int:reminder_id>/taken")
@login_required
def taken(reminder_id: int):
    rem = services.get_reminder(current_user, reminder_id, "reminder.take")
    occurrence = services.parse_occurrence(request.form.get("occurrence"))
    dose = services.record_dose(current_user, rem, occurrence)
    if wants_fragment():
        tz = services.user_tz(current_user)
        return render("agenda/reminder.html", "agenda/_taken.html", reminder=rem,
                      occurrence=dose.occurrence_at, done=True,
                      local=recurrence.to_local(dose.occurrence_at, tz))
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


# ---- Notification actions (from the service worker) ---------------------------------------

@bp.post("/actions")
@csrf.exempt
@limiter.limit("60 per minute")
def action():
    """"Taken", "Snooze 10 min", "Confirm" from a notification, without opening the app.

    The service worker has no session CSRF token: the signed per-delivery token is the only
    credential, and it acts only for the patient the notification was sent to.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error=_("The request could not be understood.")), 400
    delivery_id = worker.read_action_token(body.get("token"))
    name = body.get("action")
    if delivery_id is None or name not in ("taken", "snooze", "confirm"):
        return jsonify(error=_("This notification has expired.")), 400
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return jsonify(error=_("This notification has expired.")), 404
    actor = delivery.recipient
    policy.require(actor, "agenda.delivery_action", delivery)
    if name == "confirm":
        if delivery.appointment is None:
            return jsonify(error=_("This notification has expired.")), 400
        services.confirm_appointment(actor, delivery.appointment)
    else:
        if delivery.reminder is None or delivery.kind not in ("reminder", "snooze"):
            return jsonify(error=_("This notification has expired.")), 400
        if name == "taken":
            services.record_dose(actor, delivery.reminder, delivery.occurrence_at, via="push")
        else:
            services.snooze(actor, delivery.reminder, delivery.occurrence_at)
    return jsonify(ok=True, action=name)


# ---- The calendar feed --------------------------------------------------------------------

def _feed_page(**extra):
    feed = services.feed_of(current_user)
    url = url_for("agenda.feed", token=services.feed_token(feed), _external=True) if feed else None
    return render("agenda/calendar.html", "agenda/_calendar.html", feed=feed, feed_url=url,
                  webcal_url=("webcal://" + url.split("://", 1)[1]) if url else None, **extra)


@bp.get("/calendar")
@login_required
def calendar():
    policy.require(current_user, "agenda.feed", None)
    return _feed_page()


@bp.post("/calendar")
@login_required
@fresh_auth_required
def create_feed():
    services.create_or_regenerate_feed(current_user, request.form.get("show_details") == "1")
    return _feed_page(notice=_("Your calendar link is ready. The previous link, if any, no "
                               "longer works."))


@bp.post("/calendar/revoke")
@login_required
def revoke_feed():
    services.revoke_feed(current_user)
    return _feed_page(notice=_("The calendar link was switched off."))


@bp.get("/calendar/<token>.ics")
@limiter.limit("30 per minute")
def feed(token: str):
    feed_row = services.feed_by_token(token)
    body = ics.build(feed_row, services.feed_entries(feed_row))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="health-space.ics"'
    response.headers["Cache-Control"] = "no-store"
    return response

