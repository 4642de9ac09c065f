"""The notification settings over HTTP: pages, fragments, JSON, and the service worker's calls."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.cookies import arrives_now
from tests.csrf import token_in
from webapp.extensions import db
from webapp.push import services, vapid
from webapp.push.models import PushSubscription

UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"


@pytest.fixture
def patient(make_user):
    return make_user("patient", language="en")


@pytest.fixture
def signed_in(client, login, patient):
    # The phone's browser, from sign-in on (a changed User-Agent ends the session).
    client.environ_base["HTTP_USER_AGENT"] = UA
    return login(client, patient)


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PushSubscription))


def _subscribe(client, endpoint, key=None):
    sub = endpoint.subscription(application_server_key=key)
    response = client.post("/push/subscriptions", json=sub.info())
    assert response.status_code == 201, response.get_data(as_text=True)
    return sub, response.get_json()


def test_settings_page_shows_the_key_the_devices_and_the_setting(app, signed_in, push_endpoint):
    _subscribe(signed_in, push_endpoint)
    page = signed_in.get("/push/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with app.app_context():
        key = vapid.application_server_key()
    assert f'data-application-server-key="{key}"' in html
    assert len(vapid.b64url_decode(key)) == 65
    assert "Chrome on Android" in html
    assert 'name="show_details"' in html and "checked" not in html
    assert "<html" in html and 'id="push-devices"' in html


def test_device_list_is_a_fragment_for_htmx_and_a_page_otherwise(signed_in, push_endpoint):
    sub, _ = _subscribe(signed_in, push_endpoint)
    fragment = signed_in.get("/push/devices", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="push-devices"')
    assert services.endpoint_fingerprint(sub.endpoint) in html
    assert sub.endpoint not in html  # the capability URL is never printed
    assert "<html" in signed_in.get("/push/devices").get_data(as_text=True)


def test_anonymous_people_are_sent_to_sign_in(client, push_endpoint):
    assert "/accounts/sign-in" in client.get("/push/").headers["Location"]
    response = client.post("/push/subscriptions", json=push_endpoint.subscription().info())
    assert response.status_code in (302, 401)


def test_subscribe_route_refuses_bad_input_with_a_message_and_stores_nothing(app, signed_in,
                                                                            push_endpoint):
    bad = push_endpoint.subscription().info()
    bad["keys"]["auth"] = "short"
    response = signed_in.post("/push/subscriptions", json=bad)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "This browser sent invalid notification keys. Nothing was saved."}
    for body in ("not json", "[]", '{"endpoint": "javascript:alert(1)"}'):
        response = signed_in.post("/push/subscriptions", data=body,
                                  content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"]
    assert _count(app) == 0


def test_subscribe_route_answers_in_french(app, client, login, make_user, push_endpoint):
    login(client, make_user("patient", language="fr"))
    bad = push_endpoint.subscription().info()
    bad["endpoint"] = "https://intranet.example/push"
    response = client.post("/push/subscriptions", json=bad)
    assert response.get_json()["error"] == ("Le service de notification de ce navigateur n’est "
                                            "pas pris en charge. Rien n’a été enregistré.")


def test_unsubscribe_forgets_only_my_device(app, client, login, signed_in, make_user,
                                            push_endpoint):
    mine, _ = _subscribe(signed_in, push_endpoint)
    other_client = app.test_client()
    login(other_client, make_user("relative"))
    theirs, _ = _subscribe(other_client, push_endpoint)
    response = signed_in.post("/push/subscriptions/unsubscribe", json={"endpoint": theirs.endpoint})
    assert response.get_json() == {"removed": False}
    response = signed_in.post("/push/subscriptions/unsubscribe", json={"endpoint": mine.endpoint})
    assert response.get_json() == {"removed": True}
    assert _count(app) == 1


def test_removing_someone_elses_device_is_forbidden(app, client, login, signed_in, make_user,
                                                   push_endpoint):
    other_client = app.test_client()
    login(other_client, make_user("relative", language="en"))
    _, theirs = _subscribe(other_client, push_endpoint)
    response = signed_in.post(f"/push/devices/{theirs['id']}/remove",
                              headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert signed_in.post("/push/devices/999999/remove").status_code == 404
    assert _count(app) == 1
    response = other_client.post(f"/push/devices/{theirs['id']}/remove",
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "The device was removed." in response.get_data(as_text=True)
    assert _count(app) == 0


def test_show_details_setting(app, signed_in, patient):
    response = signed_in.post("/push/preferences", data={"show_details": "on"},
                              headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="push-preferences"')
    assert "checked" in html and "Saved." in html
    with app.app_context():
        assert services.shows_details(patient)
    signed_in.post("/push/preferences", data={})
    with app.app_context():
        assert not services.shows_details(patient)


def test_test_notification_round_trip(app, signed_in, patient, push_endpoint):
    with app.app_context():
        key = vapid.application_server_key()
    sub, device = _subscribe(signed_in, push_endpoint, key)
    response = signed_in.post("/push/test", headers={"HX-Request": "true"})
    assert "Test notification sent to 1 device." in response.get_data(as_text=True)
    [delivery] = push_endpoint.received
    payload = delivery.payload
    token = payload["data"].pop("token")
    assert payload == {
        "title": "Test notification", "body": "Notifications work on this device.",
        "url": "/push/", "tag": "push-test", "kind": "test",
        "actions": [{"action": "confirm", "title": "It works"}],
        "data": {"action_url": "/push/test/confirm"},
    }
    assert (delivery.ttl, delivery.urgency, delivery.topic) == (300, "high", "push-test")
    assert push_endpoint.errors == []

    # The service worker's "It works" tap: no session, no CSRF token, only the signed token.
    anonymous = app.test_client()
    assert anonymous.post("/push/test/confirm",
                          json={"action": "confirm", "token": token + "x"}).status_code == 400
    assert anonymous.post("/push/test/confirm",
                          json={"action": "taken", "token": token}).status_code == 400
    response = anonymous.post("/push/test/confirm", json={"action": "confirm", "token": token})
    assert response.get_json() == {"confirmed": True}
    page = signed_in.get("/push/devices", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "test confirmed" in page
    with app.app_context():
        assert db.session.get(PushSubscription, device["id"]).test_confirmed_at is not None


def test_test_button_without_a_device_says_so_once(signed_in, push_endpoint):
    """The list already says no device receives notifications: the answer says what to do,
    without repeating it, in the fragment and in the full page alike."""
    for headers in ({"HX-Request": "true"}, {}):
        html = signed_in.post("/push/test", headers=headers).get_data(as_text=True)
        assert ("<html" in html) is not bool(headers)
        assert "Turn on notifications on this device first." in html
        assert html.count("No device receives your notifications yet.") == 1
        assert html.count('id="push-devices"') == 1
    assert push_endpoint.requests == []


def test_test_button_without_a_device_in_french(app, client, login, make_user, push_endpoint):
    login(client, make_user("patient", language="fr"))
    html = client.post("/push/test", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Activez d’abord les notifications sur cet appareil." in html
    assert html.count("Aucun appareil ne reçoit encore vos notifications.") == 1


def test_the_blocked_message_is_written_once_in_the_page(signed_in):
    html = signed_in.get("/push/").get_data(as_text=True)
    assert html.count("Notifications are blocked for Health Space in this browser.") == 1


def test_test_button_is_rate_limited_per_person(signed_in):
    codes = [signed_in.post("/push/test").status_code for _ in range(7)]
    assert codes == [200] * 6 + [429]


def test_service_worker_endpoints_need_no_csrf_token_but_the_rest_do(app, csrf_enabled,
                                                                     client, login, patient,
                                                                     push_endpoint):
    login_client = app.test_client()
    page = login_client.get("/accounts/sign-in").get_data(as_text=True)
    csrf = token_in(page)
    login_client.post("/accounts/sign-in", data={
        "email": patient.email, "password": "correct horse battery staple", "csrf_token": csrf})
    info = push_endpoint.subscription().info()
    assert login_client.post("/push/subscriptions", json=info).status_code == 400  # no token
    token_page = login_client.get("/push/").get_data(as_text=True)
    header = re.search(r'"X-CSRFToken": "([^"]+)"', token_page).group(1)
    assert login_client.post("/push/subscriptions", json=info,
                             headers={"X-CSRFToken": header}).status_code == 201
    assert client.post("/push/test/confirm", json={"action": "confirm",
                                                   "token": "x"}).status_code == 400
    assert client.post("/push/subscriptions/renew", json={}).status_code == 404


def test_renewal_needs_the_old_subscriptions_secret(app, signed_in, push_endpoint):
    old, _ = _subscribe(signed_in, push_endpoint)
    new = push_endpoint.subscription()
    anonymous = app.test_client()
    forged = {"old_endpoint": old.endpoint, "old_auth": vapid.b64url(b"x" * 16),
              "subscription": new.info()}
    assert anonymous.post("/push/subscriptions/renew", json=forged).status_code == 404
    genuine = dict(forged, old_auth=old.auth)
    bad = dict(genuine, subscription={"endpoint": "ftp://x", "keys": {}})
    assert anonymous.post("/push/subscriptions/renew", json=bad).status_code == 400
    assert anonymous.post("/push/subscriptions/renew", json=genuine).get_json() == {
        "renewed": True}
    with app.app_context():
        assert db.session.scalars(select(PushSubscription.endpoint)).all() == [new.endpoint]


def test_signing_out_forgets_this_browsers_device_only(app, client, login, patient,
                                                       push_endpoint):
    phone = app.test_client()
    login(phone, patient)
    on_phone, _ = _subscribe(phone, push_endpoint)
    laptop = login(client, patient)
    on_laptop, _ = _subscribe(laptop, push_endpoint)
    phone.post("/accounts/sign-out")
    with app.app_context():
        assert db.session.scalars(select(PushSubscription.endpoint)).all() == [on_laptop.endpoint]
    # Signing in again on the phone: its page registers the same subscription again.
    login(phone, patient)
    assert phone.post("/push/subscriptions", json=on_phone.info()).status_code == 201
    assert _count(app) == 2


def test_a_late_device_sync_does_not_undo_a_sign_out(app, client, signed_in, push_endpoint):
    """Every signed-in page tells the server its subscription again as it opens. If the person
    signs out before that answer is in, the answer must not sign them back in."""
    sub, _ = _subscribe(client, push_endpoint)  # the first page after signing in
    late = client.post("/push/subscriptions", json=sub.info())  # the next page's
    assert late.status_code == 201
    assert client.post("/accounts/sign-out").status_code == 302
    arrives_now(client, late)
    assert client.get("/push/").status_code == 302


def test_signing_out_everywhere_stops_notifications_on_every_device(app, client, login, patient,
                                                                    make_user, push_endpoint):
    phone = app.test_client()
    login(phone, patient)
    on_phone, _ = _subscribe(phone, push_endpoint)
    laptop = login(client, patient)
    on_laptop, _ = _subscribe(laptop, push_endpoint)
    other = app.test_client()
    login(other, make_user("relative"))
    on_other, _ = _subscribe(other, push_endpoint)
    with app.app_context():
        assert services.send(db.session.get(type(patient), patient.id), {"title": "before"},
                             ttl=60) == 2

    assert laptop.post("/accounts/sign-out-everywhere").status_code == 302

    with app.app_context():
        # The lost phone is signed out and shows nothing more; someone else's device is kept.
        assert db.session.scalars(select(PushSubscription.endpoint)).all() == [on_other.endpoint]
        assert services.send(db.session.get(type(patient), patient.id), {"title": "after"},
                             ttl=60) == 0
    assert [d.payload["title"] for d in push_endpoint.for_subscription(on_phone)] == ["before"]
    assert [d.payload["title"] for d in push_endpoint.for_subscription(on_laptop)] == ["before"]
    # Signing in again on a browser registers it again.
    login(phone, patient)
    assert phone.post("/push/subscriptions", json=on_phone.info()).status_code == 201
    assert _count(app) == 2


def test_a_failed_sign_out_everywhere_keeps_the_devices(app, client, login, patient,
                                                        push_endpoint, monkeypatch):
    """The devices go with the sign-out's own transaction, never without it."""
    from webapp.accounts import services as accounts

    laptop = login(client, patient)
    _subscribe(laptop, push_endpoint)

    def fail(*args, **kwargs):
        raise RuntimeError("commit failed")

    with app.test_request_context(), pytest.raises(RuntimeError):
        user = db.session.get(type(patient), patient.id)
        monkeypatch.setattr(db.session, "commit", fail)
        accounts.sign_out_everywhere(user)
    monkeypatch.undo()
    with app.app_context():
        db.session.rollback()
        assert _count(app) == 1


@pytest.mark.parametrize("language, shown", [("en", "Added on 5 Jan 2026, 07:24"),
                                             ("fr", "Ajouté le 5 janv. 2026, 07:24")])
def test_device_dates_are_24_hour_in_the_users_zone(app, client, login, make_user, push_endpoint,
                                                    language, shown):
    from datetime import datetime

    user = make_user("patient", language=language)
    client.environ_base["HTTP_USER_AGENT"] = UA
    login(client, user)
    _, device = _subscribe(client, push_endpoint)
    with app.app_context():
        row = db.session.get(PushSubscription, device["id"])
        row.created_at = datetime(2026, 1, 5, 6, 24, 43)  # UTC; 07:24 in Paris
        db.session.commit()
    for headers in ({"HX-Request": "true"}, {}):
        html = client.get("/push/devices", headers=headers).get_data(as_text=True)
        assert shown in html, html
        assert not re.search(r"\d:\d\d(:\d\d)?\s?[AP]M", html) and "07:24:43" not in html


@pytest.mark.parametrize("language, warning", [
    ("en", "Notifications no longer reach this device."),
    ("fr", "Les notifications n’arrivent plus sur cet appareil."),
])
def test_a_device_that_keeps_failing_is_marked_in_the_list(app, client, login, make_user,
                                                           push_endpoint, language, warning):
    # The home banner's "Check notifications" leads here: the list must say which device fails.
    from webapp.push import audience

    user = make_user("patient", language=language)
    client.environ_base["HTTP_USER_AGENT"] = UA
    login(client, user)
    _, failing = _subscribe(client, push_endpoint)
    _, working = _subscribe(client, push_endpoint)
    with app.app_context():
        db.session.get(PushSubscription, failing["id"]).failure_count = audience.FAILING_AFTER
        db.session.get(PushSubscription, working["id"]).failure_count = (
            audience.FAILING_AFTER - 1)
        db.session.commit()
    for headers in ({"HX-Request": "true"}, {}):
        html = client.get("/push/devices", headers=headers).get_data(as_text=True)
        items = re.findall(r'<li id="push-device-(\d+)".*?</li>', html, re.S)
        assert [int(i) for i in items] == [failing["id"], working["id"]]
        first, second = re.findall(r'<li id="push-device-\d+".*?</li>', html, re.S)
        assert warning in first
        assert warning not in second
