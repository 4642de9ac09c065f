"""The calendar feed: parsed back by icalendar, private by default, revocable, regenerable."""

from __future__ import annotations

import re
from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import func, select

from tests.agenda.helpers import appointment_input
from webapp.agenda import services
from webapp.audit import AccessEvent
from webapp.extensions import db


def _appointment(app, people, **fields):
    with app.app_context():
        patient = people.get("patient")
        starts = services.utcnow() + timedelta(days=3)
        data = appointment_input(starts=f"{starts:%Y-%m-%dT10:00}", ends=f"{starts:%Y-%m-%dT11:00}",
                                 **fields)
        return services.create_appointment(patient, patient, data).id


def _feed_url(client, details=False) -> str:
    response = client.post("/agenda/calendar", data={"show_details": "1"} if details else {},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="calendar-feed"')
    return re.search(r'id="feed-url" class="link-text" readonly value="([^"]+)"', html).group(1)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_feed_parses_back_and_hides_details_by_default(app, client, login, people):
    appt_id = _appointment(app, people)
    with app.app_context():
        login(client, people.get("patient"))
    url = _feed_url(client)
    anonymous = app.test_client()
    response = anonymous.get(_path(url))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Health appointment"
    assert str(event["uid"]) == f"appointment-{appt_id}@healthspace"
    assert "location" not in event and "description" not in event
    assert b"Cardiology" not in response.data and b"Herriot" not in response.data
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1)


def test_details_when_chosen(app, client, login, people):
    _appointment(app, people)
    with app.app_context():
        login(client, people.get("patient"))
    url = _feed_url(client, details=True)
    event = Calendar.from_ical(app.test_client().get(_path(url)).data).walk("VEVENT")[0]
    assert str(event["summary"]) == "Cardiology check-up"
    assert str(event["location"]) == "Hôpital Edouard Herriot"


def test_revoked_and_regenerated_links_answer_404(app, client, login, people):
    with app.app_context():
        login(client, people.get("patient"))
    first = _feed_url(client)
    second = _feed_url(client)  # regenerate
    anonymous = app.test_client()
    assert first != second
    assert anonymous.get(_path(first)).status_code == 404
    assert anonymous.get(_path(second)).status_code == 200
    assert client.post("/agenda/calendar/revoke").status_code == 200
    assert anonymous.get(_path(second)).status_code == 404
    for forged in ("/agenda/calendar/1-deadbeef.ics", "/agenda/calendar/x.ics",
                   "/agenda/calendar/" + "9" * 200 + ".ics"):
        assert anonymous.get(forged).status_code == 404


def test_relative_feed_follows_access_and_is_audited(app, client, login, people):
    _appointment(app, people)
    with app.app_context():
        login(client, people.get("relative"))
    url = _feed_url(client)
    anonymous = app.test_client()
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AccessEvent))
    assert len(list(Calendar.from_ical(anonymous.get(_path(url)).data).walk("VEVENT"))) == 1
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(AccessEvent))
        assert after - before == 1
        from webapp.circle import services as circle

        patient = people.get("patient")
        circle.revoke_grant(patient, circle.active_grant(patient.id, people.relative_id).id)
    assert list(Calendar.from_ical(anonymous.get(_path(url)).data).walk("VEVENT")) == []
