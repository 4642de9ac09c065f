"""Browser helpers shared by the push and agenda browser tests (service worker, notifications).

Every wait here really polls and fails the test with what it last saw: Playwright's
wait_for_function does not wait for the value of a promise its predicate returns (a pending
promise is truthy), so a check written that way passes without waiting.
"""

from __future__ import annotations

_LIST = """navigator.serviceWorker.ready.then(r => r.getNotifications())
    .then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                              actions: n.actions.map(a => ({action: a.action, title: a.title})),
                              requireInteraction: n.requireInteraction})))"""


def worker_ready(page) -> None:
    """Wait until this page's service worker is active (page.evaluate awaits the promise)."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")


def notifications_when(page, condition: str, seconds: float = 10) -> list[dict]:
    """The shown notifications, once `condition` (JS, given the list) holds.

    Polled inside the page (a push is handled asynchronously by the worker) and returned from
    the same poll that saw it: a notification without requireInteraction may be dismissed by
    the browser a few seconds later. Fails the test with the last list seen if the condition
    does not hold within `seconds`.
    """
    result = page.evaluate(f"""async () => {{
        const until = Date.now() + {int(seconds * 1000)};
        for (;;) {{
            const list = await {_LIST};
            if (({condition})(list)) return {{ok: true, list}};
            if (Date.now() > until) return {{ok: false, list}};
            await new Promise(resolve => setTimeout(resolve, 100));
        }}
    }}""")
    assert result["ok"], f"notifications never matched {condition}: {result['list']}"
    return result["list"]


def registration_id(context, page, origin: str):
    """A CDP session with ServiceWorker enabled, and the id of this origin's registration
    (what `ServiceWorker.deliverPushMessage` needs)."""
    cdp = context.new_cdp_session(page)
    found: list[str] = []

    def on_update(event):
        for reg in event["registrations"]:
            if reg["scopeURL"].startswith(origin) and not reg.get("isDeleted"):
                found.append(reg["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_update)
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if found:
            break
        page.wait_for_timeout(100)
    assert found, "the service worker registration was not reported by CDP"
    return cdp, found[-1]


def service_worker(context):
    """The context's /sw.js worker (waits for it to start if it has not yet)."""
    for worker in context.service_workers:
        if worker.url.endswith("/sw.js"):
            return worker
    return context.wait_for_event("serviceworker")


def register_subscription(page, endpoint):
    """Do what the page does after pushManager.subscribe() (which cannot succeed headless):
    send a subscription on the local push service to the server. Returns that subscription."""
    page.goto("/push/")
    worker_ready(page)
    key = page.get_attribute("[data-push-device]", "data-application-server-key")
    subscription = endpoint.subscription(application_server_key=key)
    status = page.evaluate("""async (info) => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const r = await fetch('/push/subscriptions', {method: 'POST', body: JSON.stringify(info),
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
        return r.status; }""", subscription.info())
    assert status == 201
    return subscription


def revoke_as_patient(page, database_url: str, patient: tuple[str, str], grantee_email: str):
    """Sign `page` in as the patient and revoke `grantee_email`'s grant through the real route
    (the grant id read from the server's SQLite file). Returns the route's status."""
    import sqlite3

    from tests.e2e.conftest import sign_in_with_password

    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        [(grant_id,)] = db.execute(
            "SELECT g.id FROM circle_grants g JOIN users u ON u.id = g.grantee_id"
            " WHERE u.email = ?", (grantee_email,)
        ).fetchall()
    sign_in_with_password(page, *patient)
    return page.evaluate("""async (id) => {
        const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
        const r = await fetch('/circle/grants/' + id + '/revoke',
                              {method: 'POST', headers: {'X-CSRFToken': token}});
        return r.status; }""", grant_id)
