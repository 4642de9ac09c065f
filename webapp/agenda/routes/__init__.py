"""HTTP views of the agenda (thin): parse, ask services, render. One module per subject:

  common        the patient whose agenda it is, today in the user's zone, the context every
                agenda page shares, submitting a form and showing it again on bad input
  days          the agenda page itself: the day list and the month
  appointments  creating, showing, editing, deleting; a proposal's answer, the confirmation
  reminders     creating, showing, editing, deleting; a dose taken, a snooze, watching
  actions       "Taken", "Snooze", "Confirm" from a notification (the service worker)
  feed          the calendar link page and the .ics file it serves

Every view hangs on the one blueprint, `webapp.agenda.bp`; importing this package registers
them all, so endpoint names stay `agenda.<function>`.
"""

from . import actions, appointments, days, feed, reminders  # noqa: F401 -- registers the views
