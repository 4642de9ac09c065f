"""Matrix entries for the agenda (webapp/agenda/routes/).

Everything is about the owner's agenda. Roles without the `agenda` scope on the owner see the
"no agenda" page on the list and month views (their own agenda for another patient) and a 403
on everything else. Professionals propose appointments; they may change only what they
proposed. Only the owner answers a proposal or confirms attendance; only a relative watches a
medication reminder. Routes that change or remove an item get a fresh one per cell.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.security.matrix import (
    ALLOW,
    DENY,
    OTHER_PATIENT,
    PRO_GRANTED,
    ROLES,
    Route,
    expect,
    scope_holders,
)

AGENDA = expect.scope("agenda")
# Another patient creating in their own agenda is allowed: these routes act for the signed-in
# person's own patient, never for the owner.
OWN_AGENDA = AGENDA.but(**{OTHER_PATIENT: ALLOW})
# Professionals change only what they proposed; the owner created these.
CHANGE = AGENDA.but(**{PRO_GRANTED: DENY})
# Relatives (not professionals, not the patient) holding the agenda scope watch doses and
# ask for an appointment's reminders too.
WATCHERS = expect.roles({role for role in scope_holders("agenda")
                         if ROLES[role].account == "relative"})
SIGNED_IN_PEOPLE = expect.signed_in().but(admin=DENY)


def _owner(s):
    from webapp.accounts.models import User
    from webapp.extensions import db

    return db.session.get(User, s.owner.id)


def _appointment(s, status: str = "accepted") -> int:
    from webapp.agenda.models import Appointment
    from webapp.agenda.services import utcnow
    from webapp.extensions import db

    starts = utcnow() + timedelta(days=5)
    appt = Appointment(patient_id=s.owner.id, created_by_id=s.owner.id, status=status,
                       starts_at=starts, ends_at=starts + timedelta(hours=1))
    appt.title = "Matrix appointment"
    db.session.add(appt)
    db.session.commit()
    return appt.id


def _reminder(s) -> int:
    from werkzeug.datastructures import MultiDict

    from webapp.agenda import services

    owner = _owner(s)
    now = services.utcnow()
    form = MultiDict({"kind": "medication", "title": "Matrix dose", "mode": "builder",
                      "freq": "daily", "times": f"{now:%H}:00",
                      "start": f"{now - timedelta(days=2):%Y-%m-%d}"})
    return services.create_reminder(owner, owner, services.ReminderInput.from_form(form)).id


def _occurrence(s, reminder_id: int) -> str:
    from webapp.agenda import recurrence, services
    from webapp.agenda.models import Reminder
    from webapp.extensions import db

    reminder = db.session.get(Reminder, reminder_id)
    now = services.utcnow()
    occ = recurrence.occurrences_between(reminder.rrule, reminder.dtstart, reminder.timezone,
                                         now - timedelta(days=2), now)[-1]
    return occ.isoformat()


def _fresh_for_cell(s) -> int:
    s.__dict__["cell_reminder"] = _reminder(s)
    return s.__dict__["cell_reminder"]


def _taken_for_cell(s) -> int:
    """A fresh reminder per cell whose last dose the owner recorded as taken (to undo)."""
    from webapp.agenda import services
    from webapp.agenda.models import Reminder
    from webapp.extensions import db

    reminder_id = _fresh_for_cell(s)
    occurrence = datetime.fromisoformat(_occurrence(s, reminder_id))
    services.record_dose(_owner(s), db.session.get(Reminder, reminder_id), occurrence)
    return reminder_id


def _shared_appointment(s) -> int:
    return s.once("appointment", _appointment)


def _shared_reminder(s) -> int:
    return s.once("reminder", _reminder)


def _feed_path(s) -> str:
    def build(s):
        from webapp.agenda import services

        feed = services.create_or_regenerate_feed(_owner(s), show_details=False)
        return f"/agenda/calendar/{services.feed_token(feed)}.ics"

    return s.once("feed", build)


APPOINTMENT_FORM = {"title": "Matrix", "starts": "2031-01-02T10:00", "ends": "2031-01-02T11:00"}


def _reminder_form(s):
    return {"kind": "medication", "title": "Matrix", "mode": "builder", "freq": "daily",
            "times": "09:00", "start": "2031-01-01"}


ROUTES = {
    "agenda.index": Route("GET", "/agenda/", expect.signed_in()),
    "agenda.month": Route("GET", "/agenda/month", expect.signed_in()),
    "agenda.new_appointment": Route("GET", "/agenda/appointments/new", OWN_AGENDA),
    "agenda.create_appointment": Route("POST", "/agenda/appointments", OWN_AGENDA,
                                       data=APPOINTMENT_FORM),
    "agenda.appointment": Route(
        "GET", lambda s: f"/agenda/appointments/{_shared_appointment(s)}", AGENDA),
    "agenda.edit_appointment": [
        Route("GET", lambda s: f"/agenda/appointments/{_shared_appointment(s)}/edit", CHANGE),
        Route("POST", lambda s: f"/agenda/appointments/{_appointment(s)}/edit", CHANGE,
              data=APPOINTMENT_FORM),
    ],
    "agenda.delete_appointment": Route(
        "POST", lambda s: f"/agenda/appointments/{_appointment(s)}/delete", CHANGE),
    "agenda.respond": Route(
        "POST", lambda s: f"/agenda/appointments/{_appointment(s, 'proposed')}/respond",
        expect.owner_only(), data={"answer": "accept"}),
    "agenda.confirm": Route(
        "POST", lambda s: f"/agenda/appointments/{_appointment(s)}/confirm",
        expect.owner_only()),
    # "Remind me too": relatives holding the agenda scope, like watching a dose.
    "agenda.watch_appointment": Route(
        "POST", lambda s: f"/agenda/appointments/{_shared_appointment(s)}/watch", WATCHERS),
    "agenda.unwatch_appointment": Route(
        "POST", lambda s: f"/agenda/appointments/{_shared_appointment(s)}/unwatch", WATCHERS),
    "agenda.new_reminder": Route("GET", "/agenda/reminders/new", OWN_AGENDA),
    "agenda.create_reminder": Route("POST", "/agenda/reminders", OWN_AGENDA,
                                    data=_reminder_form),
    "agenda.reminder": Route("GET", lambda s: f"/agenda/reminders/{_shared_reminder(s)}",
                             AGENDA),
    "agenda.edit_reminder": [
        Route("GET", lambda s: f"/agenda/reminders/{_shared_reminder(s)}/edit", AGENDA),
        Route("POST", lambda s: f"/agenda/reminders/{_reminder(s)}/edit", AGENDA,
              data=_reminder_form),
    ],
    "agenda.delete_reminder": Route(
        "POST", lambda s: f"/agenda/reminders/{_reminder(s)}/delete", AGENDA),
    "agenda.taken": Route(
        "POST", lambda s: f"/agenda/reminders/{_shared_reminder(s)}/taken", AGENDA,
        data=lambda s: {"occurrence": _occurrence(s, _shared_reminder(s))}),
    # A fresh reminder per cell (the shared one's dose is already taken); the path is
    # resolved before the data, which reads the same reminder.
    "agenda.snooze": Route(
        "POST", lambda s: f"/agenda/reminders/{_fresh_for_cell(s)}/snooze", AGENDA,
        data=lambda s: {"occurrence": _occurrence(s, s.__dict__["cell_reminder"])}),
    # Undo a "Taken": whoever may record one; a fresh dose taken by the owner per cell.
    "agenda.undo_taken": Route(
        "POST", lambda s: f"/agenda/reminders/{_taken_for_cell(s)}/taken/undo", AGENDA,
        data=lambda s: {"occurrence": _occurrence(s, s.__dict__["cell_reminder"])}),
    "agenda.watch": Route(
        "POST", lambda s: f"/agenda/reminders/{_shared_reminder(s)}/watch", WATCHERS,
        data={"delay": "60"}),
    "agenda.unwatch": Route(
        "POST", lambda s: f"/agenda/reminders/{_shared_reminder(s)}/unwatch", WATCHERS),
    # Authenticated by the signed per-delivery token only (no session, no CSRF).
    "agenda.action": Route("POST", "/agenda/actions", expect.public(ok=400),
                           json={"action": "taken", "token": "not-a-token"}),
    "agenda.calendar": Route("GET", "/agenda/calendar", SIGNED_IN_PEOPLE),
    "agenda.create_feed": Route("POST", "/agenda/calendar", SIGNED_IN_PEOPLE),
    "agenda.revoke_feed": Route("POST", "/agenda/calendar/revoke", SIGNED_IN_PEOPLE),
    # The secret URL is the credential (a phone calendar has no session): anyone holding it
    # reads the feed; a wrong one is a 404 (tests/agenda/test_feed.py).
    "agenda.feed": [Route("GET", _feed_path, expect.public())],
}

