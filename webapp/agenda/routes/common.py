"""What the agenda's views share: the patient whose agenda this is, today in the user's zone,
the context every agenda page renders with, and submitting a form (shown again on bad input)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import flash, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ... import policy
from ...accounts.zones import zone_label
from ...core.errors import wants_json
from ...errors import Forbidden, UserError
from ...extensions import db
from ...htmx import redirect_to, render
from .. import bp, recurrence, services


def patient_or_page(required: bool = False):
    """The patient whose agenda this is, or the page explaining there is none.

    `required`: an action on an agenda (new, create) is refused outright instead.
    """
    patient = services.acting_patient(current_user)
    if patient is None or not policy.can(current_user, "agenda.read", patient):
        if required:
            raise Forbidden(_("You do not have access to this."))
        # Someone acting for a patient who does not share the agenda (or no longer does) is
        # told so by name: "choose whose agenda" alone reads as if nothing had changed.
        return None, render("agenda/no_patient.html", status=200, acting=patient)
    return patient, None


def local_today() -> date:
    return recurrence.to_local(services.utcnow(), services.user_tz(current_user)).date()


def parse_day(value: str | None) -> date:
    """A `?day=` from the URL; anything unreadable or outside 2000-2100 (the years a date can
    be typed in) is today."""
    try:
        day = date.fromisoformat(value) if value else local_today()
    except ValueError:
        return local_today()
    return day if 2000 <= day.year <= 2100 else local_today()


def weekday_labels():
    return list(zip(recurrence.WEEKDAYS, (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"),
                                          _("Sat"), _("Sun")), strict=True))


def _kind_labels():
    return {"medication": _("Medication"), "measurement": _("Measurement"),
            "vaccination": _("Vaccination"), "screening": _("Screening")}


def zone_name(zone: str) -> str:
    """A time zone as people say it ("France (Paris)"), in the reader's language."""
    return zone_label(zone, get_locale())


def page_context(patient, **extra):
    viewer_zone, patient_zone = services.user_tz(current_user), services.user_tz(patient)
    ctx = dict(patient=patient, today=local_today(), kind_labels=_kind_labels(),
               zone_name=zone_name, viewer_zone=viewer_zone, patient_zone=patient_zone,
               # Someone abroad types and reads times in their own zone, not the patient's.
               other_zone=viewer_zone != patient_zone,
               describe=recurrence.describe, acting=patient.id != current_user.id,
               can_write=policy.can(current_user, "agenda.write", patient),
               soon=services.utcnow() + timedelta(hours=12),
               undo_open=services.dose_undoable)
    ctx.update(extra)
    return ctx


def submit(write, form_again):
    """Run one user action; input it refuses shows the form again (422) with what was typed."""
    try:
        return write(), None
    except UserError as exc:
        if exc.status != 400:
            raise
        db.session.rollback()
        return None, form_again(exc)


def form_echo() -> dict:
    data = request.form.to_dict()
    data["offsets"] = [int(x) for x in request.form.getlist("offsets") if x.isdecimal()]
    data["weekdays"] = request.form.getlist("weekdays")
    data["times"] = request.form.getlist("times")
    return data


def done(message: str, url: str):
    """After a change the person asked for: say it is done, on the page they land on."""
    flash(message, "success")
    return redirect_to(url)


@bp.errorhandler(services.Deleted)
def deleted(exc: services.Deleted):
    """Back to a deleted appointment or reminder (the browser's Back after deleting it): say
    it was deleted, and lead back to the agenda, instead of a bare "does not exist"."""
    db.session.rollback()
    if wants_json():
        return jsonify(error=exc.message), exc.status
    return render("agenda/deleted.html", "agenda/_deleted.html", status=exc.status,
                  message=exc.message)
