"""The agenda on the home page: proposals waiting for the patient's answer, and what is left
of today (appointments to come, doses not recorded as taken) for the patient whose agenda the
person may read."""

from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from .. import policy
from ..accounts.models import User
from ..core.home import HomeItem, home_provider
from ..extensions import db
from . import recurrence, services

MAX_ITEMS = 6


@home_provider
def agenda_items(user: User) -> list[HomeItem]:
    return today_items(user, services.utcnow())


def today_items(user: User, now: datetime) -> list[HomeItem]:
    patient = services.acting_patient(user)
    if patient is None or not policy.can(user, "agenda.read", patient):
        return []
    items = []
    if user.id == patient.id:
        for appt in services.pending_proposals(patient):
            items.append(HomeItem(_(
                "%(who)s proposes “%(title)s”, %(when)s: accept or decline?",
                who=appt.created_by.display_name if appt.created_by else _("A professional"),
                title=appt.title, when=format_datetime(appt.starts_at, "EEE d MMM, HH:mm")),
                url_for("agenda.appointment", appointment_id=appt.id), "alert"))
    tz = services.user_tz(user)
    today = recurrence.to_local(now, tz).date()
    start, end = services.day_bounds(today, tz)
    for entry in services.entries_between(patient, start, end, tz):
        when = f"{entry.local:%H:%M}"
        if entry.kind == "appointment":
            if entry.item.ends_at <= now or entry.item.status != "accepted":
                continue
            items.append(HomeItem(_("Today %(time)s: %(title)s", time=when,
                                    title=entry.item.title),
                                  url_for("agenda.appointment", appointment_id=entry.item.id)))
        elif not entry.taken:
            text = (_("Today %(time)s: %(title)s, not recorded as taken yet", time=when,
                      title=entry.item.title) if entry.at <= now
                    else _("Today %(time)s: %(title)s", time=when, title=entry.item.title))
            items.append(HomeItem(text, url_for("agenda.reminder", reminder_id=entry.item.id),
                                  "alert" if entry.at <= now else "info"))
    if user.id != patient.id:  # someone else read the patient's agenda: the history says so
        services.audit_action(user, patient, "read", "agenda")
        db.session.commit()
    return items[:MAX_ITEMS]
