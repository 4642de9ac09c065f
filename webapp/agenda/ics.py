"""The calendar feed (iCalendar): what a phone's calendar subscribes to.

By default an event says only "Health appointment" and its time: no title, place, notes or
name of the professional, because a phone's calendar is synced to other services and shown
on lock screens. The owner may choose to include the details.
"""

from __future__ import annotations

from datetime import UTC

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _


def build(feed, patients_appointments) -> bytes:
    # Imported here: a process that never serves a feed does not carry the library (4 MB).
    from icalendar import Calendar, Event

    user = feed.user
    language = user.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    cal = Calendar()
    cal.add("prodid", "-//Health Space//Agenda//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    with force_locale(language):
        cal.add("x-wr-calname", _("Health Space"))
        several = len(patients_appointments) > 1 or any(
            p.id != user.id for p, _a in patients_appointments)
        for patient, appointments in patients_appointments:
            for appt in appointments:
                event = Event()
                event.add("uid", f"appointment-{appt.id}@healthspace")
                event.add("dtstamp", (appt.updated_at or appt.created_at).replace(tzinfo=UTC))
                event.add("dtstart", appt.starts_at.replace(tzinfo=UTC))
                event.add("dtend", appt.ends_at.replace(tzinfo=UTC))
                if feed.show_details:
                    summary = appt.title
                    if several:
                        summary = f"{patient.display_name}: {summary}"
                    event.add("summary", summary)
                    if appt.place:
                        event.add("location", appt.place)
                    who = appt.with_label
                    description = "\n".join(x for x in (who, appt.notes) if x)
                    if description:
                        event.add("description", description)
                else:
                    event.add("summary", _("Health appointment"))
                event.add("class", "PRIVATE")
                cal.add_component(event)
    return cal.to_ical()
