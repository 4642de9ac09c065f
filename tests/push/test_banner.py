"""The banner warning someone who counts on notifications that none of their devices receives
them: who sees it, who does not, the link to turn them on, "Not now", its single query, in
English and French."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.statements import recorded_statements
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.push import audience, services

HX = {"HX-Request": "true"}
NOT_ON = ("Notifications are not turned on on any of your devices: you could miss a message or "
          "a reminder.")
FAILING = ("Notifications no longer reach any of your devices: you could miss a message or a "
           "reminder.")


def _banner(html: str) -> dict | None:
    """The push banner of a page: its text, link and "Not now" form; None when there is none."""
    match = re.search(r'<div class="banner banner--push[^"]*"[^>]*>(.*?)</div>', html, re.S)
    if not match:
        return None
    inner = match.group(1)
    text = re.search(r'<p class="banner__text">([^<]+)</p>', inner)
    link = re.search(r'<a class="button banner__action" href="([^"]+)">([^<]+)</a>', inner)
    form = re.search(r'<form method="post" action="([^"]+)" hx-post="\1".*?'
                     r'<button type="submit"[^>]*>([^<]+)</button>', inner, re.S)
    return {
        "text": text.group(1),
        "link": (link.group(1), link.group(2)),
        "button": (form.group(1), form.group(2)),
    }


@pytest.fixture
def people(app, make_user):
    """Jeanne (patient) and her nurse Nadia talk in an open conversation; Claire (relative)
    and the admin are in none."""
    from webapp.chat import services as chat
    from webapp.circle import services as circle

    jeanne = make_user("patient", display_name="Jeanne Martin", language="en")
    nadia = make_user("professional", display_name="Nadia Benali", language="en")
    claire = make_user("relative", display_name="Claire Martin", language="en")
    admin = make_user("admin", display_name="Admin", language="en")
    with app.app_context():
        circle.grant(db.session.get(User, jeanne.id), db.session.get(User, nadia.id),
                     "messages", None)
        circle.grant(db.session.get(User, jeanne.id), db.session.get(User, claire.id),
                     "agenda", None)
        db.session.commit()
        conversation = chat.start_conversation(
            db.session.get(User, nadia.id), patient=db.session.get(User, jeanne.id),
            member_ids=[], subject="Dressing change")
    return type("People", (), {"jeanne": jeanne, "nadia": nadia, "claire": claire,
                               "admin": admin, "conversation": conversation.id})


def _device(app, user, push_endpoint, failures: int = 0) -> None:
    with app.app_context():
        sub = services.subscribe(db.session.get(User, user.id),
                                 push_endpoint.subscription().info())
        sub.failure_count = failures
        db.session.commit()


def _home(client) -> str:
    return client.get("/home").get_data(as_text=True)


def test_a_member_of_a_conversation_without_a_device_is_told(client, login, people):
    login(client, people.nadia)
    banner = _banner(_home(client))
    assert banner == {
        "text": NOT_ON,
        "link": ("/push/", "Turn on notifications"),
        "button": ("/push/banner/hide", "Not now"),
    }
    # On the home page only: elsewhere it would take half a small phone's screen every time.
    assert _banner(client.get("/chat/").get_data(as_text=True)) is None
    assert _banner(client.get("/agenda/").get_data(as_text=True)) is None
    # The patient of the conversation too.
    client.post("/accounts/sign-out")
    login(client, people.jeanne)
    assert _banner(_home(client))["text"] == NOT_ON


def test_in_french(app, client, login, people):
    with app.app_context():
        db.session.get(User, people.nadia.id).language = "fr"
        db.session.commit()
    login(client, people.nadia)
    banner = _banner(_home(client))
    assert banner == {
        "text": "Les notifications ne sont activées sur aucun de vos appareils\u202f: "
                "vous pourriez manquer un message ou un rappel.",
        "link": ("/push/", "Activer les notifications"),
        "button": ("/push/banner/hide", "Plus tard"),
    }
    assert 'aria-label="Plus tard\u202f: masquer ce message pendant une semaine"' in (
        _home(client))


def test_not_shown_to_people_notifications_do_not_concern(client, login, people):
    for user in (people.claire, people.admin):  # in no conversation, nothing registered
        login(client, user)
        assert _banner(_home(client)) is None
        client.post("/accounts/sign-out")


def test_not_shown_when_a_device_receives_notifications(app, client, login, people,
                                                        push_endpoint):
    _device(app, people.nadia, push_endpoint, failures=audience.FAILING_AFTER - 1)
    login(client, people.nadia)
    assert _banner(_home(client)) is None


def test_devices_that_all_keep_failing_are_no_device(app, client, login, people, push_endpoint):
    _device(app, people.nadia, push_endpoint, failures=audience.FAILING_AFTER)
    _device(app, people.nadia, push_endpoint, failures=audience.FAILING_AFTER + 4)
    login(client, people.nadia)
    assert _banner(_home(client)) == {
        "text": FAILING,
        "link": ("/push/", "Check notifications"),
        "button": ("/push/banner/hide", "Not now"),
    }
    with app.app_context():
        db.session.get(User, people.nadia.id).language = "fr"
        db.session.commit()
    banner = _banner(_home(client))
    assert banner["text"] == ("Les notifications n’arrivent plus sur aucun de vos appareils\u202f: "
                              "vous pourriez manquer un message ou un rappel.")
    assert banner["link"] == ("/push/", "Vérifier les notifications")
    # One device that works again is enough.
    _device(app, people.nadia, push_endpoint)
    assert _banner(_home(client)) is None


def test_a_closed_conversation_sends_nothing_to_be_told_about(app, client, login, people):
    from webapp.chat import services as chat
    from webapp.chat.models import Conversation

    with app.app_context():
        chat.set_closed(db.session.get(User, people.nadia.id),
                        db.session.get(Conversation, people.conversation), True)
    login(client, people.nadia)
    assert _banner(_home(client)) is None


def test_not_on_the_notifications_page_nor_in_fragments(client, login, people):
    login(client, people.nadia)
    assert _banner(client.get("/push/").get_data(as_text=True)) is None
    fragment = client.get("/chat/", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "banner" not in fragment


def test_not_now_hides_it_for_a_week_for_that_person_on_that_browser(client, login, people):
    login(client, people.nadia)
    assert _banner(_home(client)) is not None
    response = client.post("/push/banner/hide", headers=HX)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    cookie = client.get_cookie("hs_push_later")
    assert cookie.http_only and cookie.max_age == 7 * 86400
    assert _banner(_home(client)) is None
    assert _banner(client.get("/chat/").get_data(as_text=True)) is None
    # Signing in again the next morning does not bring it back…
    client.post("/accounts/sign-out")
    login(client, people.nadia)
    assert _banner(_home(client)) is None
    # …but it is hers: Jeanne, on the same tablet, is still told.
    client.post("/accounts/sign-out")
    login(client, people.jeanne)
    assert _banner(_home(client)) is not None
    # A week later it is back.
    client.post("/accounts/sign-out")
    login(client, people.nadia)
    client.set_cookie("hs_push_later", f"{people.nadia.id}:{int(time.time()) - 1}")
    assert _banner(_home(client)) is not None


def test_not_now_works_without_javascript_and_stays_on_the_site(client, login, people):
    login(client, people.nadia)
    # The form sends the page it was on, and the person comes back there.
    page = client.get("/home?from=push").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/home?from=push">' in page
    response = client.post("/push/banner/hide", data={"next": "/home?from=push"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home?from=push")
    assert _banner(_home(client)) is None
    for elsewhere in ("https://evil.example/", "//evil.example", None):  # never off the site
        response = client.post("/push/banner/hide", data={"next": elsewhere} if elsewhere else {})
        assert response.headers["Location"].endswith("/home")


def test_hiding_needs_a_signed_in_person(client):
    response = client.post("/push/banner/hide")
    assert response.status_code in (302, 401)
    assert "/accounts/sign-in" in response.headers.get("Location", "/accounts/sign-in")


def test_it_costs_one_query_per_page_and_none_once_hidden(app, people):
    from webapp.push.routes import BANNER_COOKIE, no_device_banner

    with app.test_request_context("/home"):
        user = db.session.get(User, people.nadia.id)
        with recorded_statements() as statements:
            assert [banner.kind for banner in no_device_banner(user)] == ["push"]
        assert len(statements) == 1
    hidden = f"{BANNER_COOKIE}={people.nadia.id}:{int(time.time()) + 3600}"
    with app.test_request_context("/home", headers={"Cookie": hidden}):
        user = db.session.get(User, people.nadia.id)
        with recorded_statements() as statements:
            assert no_device_banner(user) == []
        assert statements == []
    with app.test_request_context("/chat/", headers=HX):  # a fragment: no banner, no query
        user = db.session.get(User, people.nadia.id)
        with recorded_statements() as statements:
            assert no_device_banner(user) == []
        assert statements == []
    with app.app_context():  # no request (a socket event's rendering, the worker): nothing
        assert no_device_banner(db.session.get(User, people.nadia.id)) == []


# ---- Another domain's condition: the agenda's people ------------------------------------


def test_the_agenda_registers_its_people_once():
    from webapp.agenda import push_audience

    registered = [push_audience.has_an_active_reminder, push_audience.watches_a_reminder,
                  push_audience.reminded_of_a_coming_appointment]
    for condition in registered:
        services.counts_on_notifications(condition)  # imported twice: registered once
        assert audience.CONDITIONS.count(condition) == 1


def test_the_agenda_s_people_see_it(app, client, login, make_user):
    from webapp.agenda import services as agenda
    from webapp.circle import services as circle

    patient = make_user("patient", display_name="Louise Petit", language="en")
    relative = make_user("relative", display_name="Marc Petit", language="fr")
    other = make_user("relative", display_name="Nobody", language="en")
    login(client, patient)
    assert _banner(_home(client)) is None
    with app.app_context():
        louise = db.session.get(User, patient.id)
        circle.grant(louise, db.session.get(User, relative.id), "agenda", None)
        circle.grant(louise, db.session.get(User, other.id), "agenda", None)
        db.session.commit()
        from tests.agenda.helpers import make_reminder

        reminder = make_reminder(louise, louise, datetime.now(UTC).replace(tzinfo=None))
        agenda.watch(db.session.get(User, relative.id), reminder, 60)
        db.session.commit()
    assert _banner(_home(client))["text"] == NOT_ON  # the patient with a reminder
    client.post("/accounts/sign-out")
    login(client, relative)  # the relative watching it, in French
    assert _banner(_home(client))["text"].startswith(
        "Les notifications ne sont activées sur aucun de vos appareils")
    client.post("/accounts/sign-out")
    login(client, other)  # in the circle, but watching nothing
    assert _banner(_home(client)) is None
    with app.app_context():  # "Remind me too" on a coming appointment
        from tests.agenda.helpers import appointment_input

        day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        appointment = agenda.create_appointment(
            db.session.get(User, patient.id), db.session.get(User, patient.id),
            appointment_input(starts=f"{day}T14:30", ends=f"{day}T15:00"))
        agenda.watch_appointment(db.session.get(User, other.id), appointment)
    assert _banner(_home(client))["text"] == NOT_ON


def test_nothing_registered_means_no_query_and_no_banner(app, people, monkeypatch):
    monkeypatch.setattr(audience, "CONDITIONS", [])
    with app.app_context():
        user = db.session.get(User, people.nadia.id)
        with recorded_statements() as statements:
            assert services.device_warning(user) is None
        assert statements == []
