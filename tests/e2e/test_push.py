"""The browser half of Web Push, in Debian's Chromium at a phone's size.

Headless Chromium has no push service, so pushManager.subscribe() cannot succeed here. The chain
is driven as far as a browser allows, with real parts only:
  the settings page registers a subscription whose endpoint is the local push service
  (tests/push/push_endpoint.py), the "Send a test notification" button makes the server encrypt
  and send it there (VAPID verified, payload decrypted), the decrypted payload is handed to the
  service worker by CDP `ServiceWorker.deliverPushMessage` (its real `push` handler shows the
  notification), and the notification's "It works" action is dispatched to the worker's real
  `notificationclick` listener, which POSTs the signed token back; the page updates.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, sign_in_with_password
from tests.e2e.helpers import (
    notifications_when,
    register_subscription,
    registration_id,
    service_worker,
    worker_ready,
)
from tests.push.push_endpoint import PushEndpoint

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


@pytest.fixture
def endpoint():
    with PushEndpoint() as running:
        yield running


@pytest.fixture
def notifying_page(phone, live_server):
    page = phone(live_server.url, grant=["notifications"])
    sign_in_as_english_jeanne(page)
    return page


def sign_in_as_english_jeanne(page) -> None:
    """The demo patient reads French; these tests read English (her choice, made once)."""
    sign_in_with_password(page, *JEANNE)
    status = page.evaluate("""async () => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const body = new URLSearchParams({language: 'en', next: '/home', csrf_token: token});
        return (await fetch('/language', {method: 'POST', body})).status; }""")
    assert status == 200


def test_settings_page_is_reachable_from_me_and_accessible(notifying_page):
    page = notifying_page
    page.goto("/accounts/me")
    page.get_by_role("link", name="Notification settings").click()
    page.wait_for_url("**/push/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    worker_ready(page)
    # Permission granted, no subscription yet: the switch offers to turn notifications on.
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
    expect(page.get_by_text("Checking whether this browser")).to_be_hidden()
    assert_accessible(page)


def test_turning_on_without_a_push_service_says_so(notifying_page):
    page = notifying_page
    page.goto("/push/")
    worker_ready(page)
    page.get_by_role("button", name="Turn on notifications").click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Notifications could not be turned on. Check your connection and try again.",
        timeout=20_000)
    expect(page.locator("#push-devices")).to_contain_text(
        "No device receives your notifications yet.")
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_enabled()


def test_not_yet_asked_and_blocked_permission_are_explained(page, live_server):
    sign_in_as_english_jeanne(page)
    page.goto("/push/")
    # Never asked: the person is offered the switch (the browser will ask on tap).
    assert page.evaluate("() => Notification.permission") == "default"
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
    # The person blocked notifications in the browser: say so and say where to change it.
    _deny_notifications(page, live_server)
    page.reload()
    assert page.evaluate("() => Notification.permission") == "denied"
    expect(page.get_by_text("Notifications are blocked for Health Space in this browser."
                            )).to_be_visible()
    expect(page.get_by_text("Allow them in the browser’s site settings")).to_be_visible()
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_hidden()
    assert_accessible(page)


def _deny_notifications(page, live_server) -> None:
    target = page.context.new_cdp_session(page).send("Target.getTargetInfo")
    page.context.browser.new_browser_cdp_session().send("Browser.setPermission", {
        "permission": {"name": "notifications"}, "setting": "denied",
        "origin": live_server.url, "browserContextId": target["targetInfo"]["browserContextId"]})


def test_each_message_shows_once_whatever_is_tapped(page, live_server):
    """Tapping "Turn on" when the browser refuses, then "Send a test notification" again and
    again: the page says that notifications are blocked, and that no device receives them,
    once each (it used to say both twice)."""
    sign_in_as_english_jeanne(page)
    page.goto("/push/")
    worker_ready(page)
    main = page.locator("main")
    blocked = "Notifications are blocked for Health Space in this browser."
    no_device = "No device receives your notifications yet."
    turn_on_first = "Turn on notifications on this device first."
    _deny_notifications(page, live_server)  # the person refuses when the browser asks
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.get_by_text("Allow them in the browser’s site settings")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    assert main.inner_text().count(blocked) == 1
    assert main.inner_text().count(no_device) == 1
    for _ in range(3):
        with page.expect_response("**/push/test"):
            page.get_by_role("button", name="Send a test notification").click()
        expect(page.locator("#push-devices")).to_contain_text(turn_on_first)
        text = main.inner_text()
        assert (text.count(blocked), text.count(no_device), text.count(turn_on_first)) == \
            (1, 1, 1), text
    assert_accessible(page)


def test_push_reaches_the_service_worker_and_its_action_posts_back(live_server, notifying_page,
                                                                   endpoint):
    page = notifying_page
    # What the page does after pushManager.subscribe(): send the subscription to the server.
    register_subscription(page, endpoint)
    page.reload()
    expect(page.locator("#push-devices li")).to_have_count(1)

    # The server encrypts the test notification and the push service accepts it.
    page.get_by_role("button", name="Send a test notification").click()
    expect(page.locator("#push-devices")).to_contain_text("Test notification sent to 1 device.")
    [delivery] = endpoint.wait_for(1)
    assert endpoint.errors == []
    payload = delivery.payload
    assert payload["title"] == "Test notification"
    assert payload["actions"] == [{"action": "confirm", "title": "It works"}]

    # The push service hands the (decrypted) message to the browser's service worker.
    cdp, registration = registration_id(page.context, page, live_server.url)
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server.url, "registrationId": registration,
        "data": delivery.text})
    [shown] = notifications_when(page, "ns => ns.some(n => n.tag === 'push-test')")
    assert shown["title"] == "Test notification"
    assert shown["body"] == "Notifications work on this device."
    assert shown["tag"] == "push-test"
    assert shown["actions"] == [{"action": "confirm", "title": "It works"}]
    assert shown["data"]["url"] == f"{live_server.url}/push/"
    assert shown["data"]["action_url"] == f"{live_server.url}/push/test/confirm"
    assert shown["data"]["kind"] == "test"

    # The person taps "It works": the worker's notificationclick listener closes the
    # notification and POSTs {action, token}; the open page refreshes its list.
    worker = service_worker(page.context)
    worker.evaluate("""async () => {
        let n;
        while (!n) [n] = await self.registration.getNotifications({tag: 'push-test'});
        try {
          self.dispatchEvent(new NotificationEvent('notificationclick',
                                                   {notification: n, action: 'confirm'}));
        } catch (e) { /* waitUntil refuses an untrusted event; the listener already ran */ }
    }""")
    expect(page.locator("#push-devices")).to_contain_text("test confirmed", timeout=10_000)
    notifications_when(page, "ns => ns.length === 0")  # closed by the listener


def test_a_push_without_a_readable_payload_still_shows_a_notification(live_server,
                                                                      notifying_page):
    page = notifying_page
    page.goto("/push/")
    worker_ready(page)
    cdp, registration = registration_id(page.context, page, live_server.url)
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server.url, "registrationId": registration, "data": "not json"})
    [shown] = notifications_when(page, "ns => ns.length > 0")
    assert (shown["title"], shown["body"]) == ("Health Space", "You have a new notification.")
    # A hostile payload cannot make the worker open or post to another site.
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server.url, "registrationId": registration,
        "data": json.dumps({"title": "x", "tag": "evil", "url": "https://evil.example/",
                            "actions": [{"action": "taken", "title": "Taken"}],
                            "data": {"action_url": "https://evil.example/steal"}})})
    shown = notifications_when(page, "ns => ns.some(n => n.tag === 'evil')")
    evil = [n for n in shown if n["tag"] == "evil"][0]
    assert evil["data"]["url"] == f"{live_server.url}/"
    assert evil["data"]["action_url"] is None
    assert evil["actions"] == []  # no action without a same-origin place to post it


def test_not_now_hides_the_banner_by_keyboard_and_without_javascript(phone, live_server):
    """Claire watches her mother's medication and has no device that gets notifications: the
    banner says so. "Not now" by keyboard removes it and leaves the focus on the page; without
    JavaScript the same button posts and brings her back to the page she was on."""
    not_now = re.compile("^Plus tard")
    for javascript in (True, False):
        page = phone(live_server.url, "fr-FR", java_script_enabled=javascript)
        sign_in_with_password(page, *CLAIRE)  # lands on the home page, where it shows
        banner = page.locator(".banner--push")
        expect(banner).to_contain_text(
            "Les notifications ne sont activées sur aucun de vos appareils")
        expect(banner.get_by_role("link", name="Activer les notifications")).to_have_attribute(
            "href", "/push/")
        if javascript:
            banner.get_by_role("button", name=not_now).focus()
            page.keyboard.press("Enter")
            expect(banner).to_have_count(0)
            expect(page.locator("#main")).to_be_focused()
        else:
            banner.get_by_role("button", name=not_now).click()
            page.wait_for_url("**/home")
            expect(banner).to_have_count(0)
        page.goto("/home")
        expect(page.locator(".banner--push")).to_have_count(0)
        page.context.close()  # each pass on a phone of its own
