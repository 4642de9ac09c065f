"""The agenda in Debian's Chromium at a phone's size, with the real server and its worker.

The demo accounts read French (their language setting), so the UI and notifications do too.

The reminder chain runs with real parts only: the demo's daily 08:00 medication reminder
(watched by Claire) is sent by `flask reminders run --now …` (the worker, a controlled clock)
to the local push service (VAPID verified, payload decrypted); the decrypted payload is handed
to Jeanne's service worker by CDP `ServiceWorker.deliverPushMessage`; its real `push` handler
shows the notification, and its real `notificationclick` listener, given the "taken" action,
POSTs the signed token back. Then the watching relative gets no alert; the next day, with no
"Taken", she does.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, sign_in_with_password
from tests.e2e.helpers import (
    notifications_when,
    register_subscription,
    registration_id,
    service_worker,
)
from tests.live import LiveServer
from tests.push.push_endpoint import PushEndpoint

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A seeded server whose in-process worker is off: the test drives the clock."""
    server = LiveServer(tmp_path_factory.mktemp("live-agenda"),
                        extra_env={"RUN_REMINDER_WORKER": "0"}).prepare(seed=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint():
    with PushEndpoint() as running:
        yield running


def _db(live_server):
    return sqlite3.connect(live_server.database_url.removeprefix("sqlite:///"))


def _page_for(phone, live_server, who):
    page = phone(live_server.url, grant=["notifications"])
    sign_in_with_password(page, *who)
    return page


def _next_0800_utc() -> datetime:
    """The demo reminder's next occurrence (08:00 Paris) after now, as naive UTC."""
    now = datetime.now(PARIS)
    day = now.date() if now.time() < time(8, 0) else now.date() + timedelta(days=1)
    local = datetime.combine(day, time(8, 0), tzinfo=PARIS)
    return local.astimezone(UTC).replace(tzinfo=None)


def _run_worker(live_server, at: datetime) -> str:
    return live_server.flask("reminders", "run", "--now", at.isoformat())


def test_taken_from_the_notification_records_the_dose_and_the_watcher_is_alerted_only_when_needed(  # noqa: E501
        live_server, endpoint, phone):
    jeanne = _page_for(phone, live_server, JEANNE)
    claire = _page_for(phone, live_server, CLAIRE)
    jeanne_sub = register_subscription(jeanne, endpoint)
    claire_sub = register_subscription(claire, endpoint)
    with _db(live_server) as conn:
        reminder_id = conn.execute("SELECT id FROM reminders WHERE kind='medication'"
                                   ).fetchone()[0]
    occ = _next_0800_utc()

    # 08:00: the worker sends Jeanne's reminder; the push service decrypts it.
    _run_worker(live_server, occ)
    [delivery] = endpoint.wait_for(1)
    assert delivery.token == jeanne_sub.token and endpoint.errors == []
    payload = delivery.payload
    assert payload["title"] == "Vous avez un rappel"  # Jeanne reads French; no health detail
    assert "Kardégic" not in delivery.text
    assert [a["action"] for a in payload["actions"]] == ["taken", "snooze"]

    # The browser's push service hands it to Jeanne's service worker, which shows it.
    jeanne.goto(f"/agenda/reminders/{reminder_id}")
    cdp, registration = registration_id(jeanne.context, jeanne, live_server.url)
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server.url, "registrationId": registration, "data": delivery.text})
    [shown] = notifications_when(jeanne, "ns => ns.length === 1")
    assert shown["title"] == "Vous avez un rappel"
    assert shown["actions"] == [{"action": "taken", "title": "Pris"},
                                {"action": "snooze", "title": "Rappel dans 10 min"}]
    assert shown["data"]["action_url"] == f"{live_server.url}/agenda/actions"

    # Jeanne taps "Taken" on the notification: the worker's listener posts the token.
    service_worker(jeanne.context).evaluate("""async () => {
        const [n] = await self.registration.getNotifications();
        try {
          self.dispatchEvent(new NotificationEvent('notificationclick',
                                                   {notification: n, action: 'taken'}));
        } catch (e) { /* waitUntil refuses an untrusted event; the listener already ran */ }
    }""")
    occ_text = occ.isoformat(sep=" ")
    for _ in range(100):
        with _db(live_server) as conn:
            dose = conn.execute(
                "SELECT via FROM reminder_doses WHERE reminder_id=? AND occurrence_at LIKE ?",
                (reminder_id, occ_text + "%")).fetchone()
        if dose:
            break
        jeanne.wait_for_timeout(100)
    assert dose == ("push",)
    jeanne.reload()
    expect(jeanne.locator(f"#taken-{reminder_id}-{occ:%Y%m%d%H%M}")).to_contain_text("Pris")

    # 09:00: the dose was confirmed, so Claire gets nothing.
    _run_worker(live_server, occ + timedelta(minutes=60))
    assert endpoint.for_subscription(claire_sub) == []
    with _db(live_server) as conn:
        assert conn.execute(
            "SELECT status FROM reminder_deliveries WHERE kind='watch' AND occurrence_at "
            "LIKE ?", (occ_text + "%",)).fetchone() == ("skipped",)

    # The next day nobody taps "Taken": at 09:00 Claire is alerted.
    _run_worker(live_server, occ + timedelta(days=1))
    _run_worker(live_server, occ + timedelta(days=1, minutes=60))
    [alert] = endpoint.for_subscription(claire_sub)
    assert alert.payload["kind"] == "reminder"
    assert alert.payload["url"] == f"/agenda/reminders/{reminder_id}"
    assert "Kardégic" not in alert.text
    assert endpoint.errors == []
    claire.goto("/agenda/")
    cdp, registration = registration_id(claire.context, claire, live_server.url)
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": live_server.url, "registrationId": registration, "data": alert.text})
    shown = notifications_when(claire, "ns => ns.length > 0")
    assert [(n["data"]["url"], n["title"]) for n in shown] == [
        (f"{live_server.url}/agenda/reminders/{reminder_id}", "Vous avez un rappel")]


def test_patient_adds_an_appointment_on_a_phone(page):
    sign_in_with_password(page, *JEANNE)
    page.goto("/agenda/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon agenda")
    expect(page.get_by_text("En attente de votre réponse")).to_be_visible()
    page.get_by_role("link", name="Nouveau rendez-vous").click()
    page.wait_for_url("**/agenda/appointments/new")
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).date().isoformat()
    page.fill("#title", "Ophtalmologue")
    page.fill("#starts", f"{tomorrow}T15:00")
    page.fill("#ends", f"{tomorrow}T14:00")
    page.get_by_role("button", name="Ajouter à l’agenda").click()
    expect(page.get_by_role("alert")).to_have_text("La fin est avant le début.")
    expect(page.locator("#ends")).to_have_attribute("aria-invalid", "true")
    page.fill("#ends", f"{tomorrow}T15:30")
    page.get_by_role("button", name="Ajouter à l’agenda").click()
    page.wait_for_url("**/agenda/appointments/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ophtalmologue")
    assert_accessible(page)
    page.goto("/agenda/")
    expect(page.locator("#agenda-days")).to_contain_text("Ophtalmologue")


def test_patient_accepts_the_nurses_proposal_and_browses_the_month(page):
    sign_in_with_password(page, *JEANNE)
    page.goto("/agenda/")
    page.get_by_role("link", name="Soins infirmiers à domicile").first.click()
    expect(page.get_by_text("Proposé, en attente de réponse")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Accepter").click()
    expect(page.get_by_text("Proposé, en attente de réponse")).to_be_hidden()
    # Accepting is saying she will be there: she is not asked a second time.
    expect(page.get_by_text("Présence confirmée")).to_be_visible()
    expect(page.get_by_role("button", name="Je serai présent(e)")).to_have_count(0)
    page.goto("/agenda/month")
    title = page.locator("#month-title").inner_text()
    page.get_by_role("link", name="Mois suivant", exact=False).click()
    expect(page.locator("#month-title")).not_to_have_text(title)
    assert_accessible(page)


def test_relative_watches_and_reminder_form_is_accessible(page):
    sign_in_with_password(page, *CLAIRE)
    page.goto("/agenda/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agenda de Jeanne Martin")
    page.get_by_role("link", name="Kardégic 75 mg").first.click()
    expect(page.get_by_text("Claire Martin — alerté(e) après 60 min")).to_be_visible()
    page.select_option("#delay", "30")
    page.get_by_role("button", name="Modifier mon alerte").click()
    expect(page.get_by_text("Claire Martin — alerté(e) après 30 min")).to_be_visible()
    assert_accessible(page)
    page.goto("/agenda/reminders/new")
    page.get_by_label("Règle iCalendar (avancé)").check()
    expect(page.locator("#rrule")).to_be_visible()
    page.fill("#title", "Tension")
    page.fill("#rrule", "FREQ=MINUTELY")
    page.get_by_role("button", name="Ajouter le rappel").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Un rappel ne peut pas se répéter chaque seconde ni chaque minute.")
    assert_accessible(page)


def test_relative_is_reminded_of_an_appointment_too_and_can_stop(page):
    sign_in_with_password(page, *CLAIRE)
    page.goto("/agenda/")
    page.get_by_role("link", name="Consultation de suivi").first.click()
    # The demo has Claire reminded of this visit already.
    expect(page.locator("#appointment .facts")).to_contain_text("Claire Martin")
    page.get_by_role("button", name="Ne plus me le rappeler").click()
    expect(page.locator("#appointment [role=status]")).to_have_text(
        "Vous ne recevrez plus les rappels de ce rendez-vous.")
    expect(page.locator("#appointment .facts")).not_to_contain_text("Claire Martin")
    assert_accessible(page)
    page.get_by_role("button", name="Me le rappeler aussi").click()
    expect(page.locator("#appointment [role=status]")).to_have_text(
        "Vous recevrez aussi les rappels de ce rendez-vous.")
    expect(page.locator("#appointment .facts")).to_contain_text("Claire Martin")


def test_patient_undoes_a_taken_tapped_by_mistake(page):
    """Elderly fingers tap the wrong button: "Taken" is undone in place, the focus stays on
    the button that replaced the one tapped, and the page says the dose is open again."""
    sign_in_with_password(page, *JEANNE)
    page.goto("/agenda/")
    page.get_by_role("link", name="Kardégic 75 mg").first.click()
    # The day list has the same marks: act only once the reminder page is there.
    page.wait_for_url("**/agenda/reminders/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kardégic 75 mg")
    taken, undo = re.compile(r"^Pris\b"), re.compile(r"^Annuler")
    mark = page.locator(".taken").first  # the dose within the next or last 12 hours
    if mark.get_by_role("button", name=undo).count():  # recorded by an earlier test: open it
        mark.get_by_role("button", name=undo).click()
    mark.get_by_role("button", name=taken).click()
    expect(mark).to_contain_text("Pris à")
    expect(mark.get_by_role("button", name=undo)).to_be_focused()
    assert_accessible(page)
    mark.get_by_role("button", name=undo).click()
    expect(mark).to_contain_text("Plus noté comme pris.")
    expect(mark.get_by_role("button", name=taken)).to_be_focused()
    page.reload()
    expect(page.locator(".taken").first.get_by_role("button", name=taken)).to_be_visible()
    expect(page.locator(".taken").first).not_to_contain_text("Pris à")


def _appointments_starting(live_server, local: datetime) -> int:
    utc = local.replace(tzinfo=PARIS).astimezone(UTC)
    with _db(live_server) as db:
        return db.execute("SELECT count(*) FROM appointments WHERE starts_at LIKE ?",
                          (f"{utc:%Y-%m-%d %H:%M}%",)).fetchone()[0]


def test_the_end_follows_the_start_and_a_double_tap_adds_one_appointment(page, live_server):
    """Jeanne picks another day for the start: the end goes with it (she is not told "the end
    is before the start"); her finger taps "Add" twice: one appointment, not two."""
    sign_in_with_password(page, *JEANNE)
    page.goto("/agenda/appointments/new")
    day = (datetime.now(PARIS) + timedelta(days=9)).date()
    page.fill("#title", "Dentiste")
    page.fill("#starts", f"{day.isoformat()}T14:00")
    expect(page.locator("#ends")).to_have_value(f"{day.isoformat()}T14:30")
    page.fill("#ends", f"{day.isoformat()}T15:00")
    page.fill("#starts", f"{day.isoformat()}T16:00")  # moved: it still lasts an hour
    expect(page.locator("#ends")).to_have_value(f"{day.isoformat()}T17:00")
    page.get_by_role("button", name="Ajouter à l’agenda").dblclick()
    page.wait_for_url(re.compile(r".*/agenda/appointments/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dentiste")
    page.wait_for_load_state("networkidle")
    assert _appointments_starting(live_server, datetime.combine(day, time(16, 0))) == 1


def test_the_agenda_fits_a_320px_screen_in_large_text(phone, live_server):
    """The narrowest phone, large text, French: the week's buttons keep their words inside,
    a title with a very long word does not widen the page, and months keep their small
    letter ("Mardi 1 décembre", not "Mardi 1 Décembre")."""
    with _db(live_server) as db:
        db.execute("UPDATE users SET large_text = 1 WHERE email = ?", (JEANNE[0],))
    page = phone(live_server.url, "fr-FR", viewport={"width": 320, "height": 700})
    try:
        sign_in_with_password(page, *JEANNE)
        day = (datetime.now(PARIS) + timedelta(days=11)).date()
        page.goto("/agenda/appointments/new")
        page.fill("#title", "Kinésithérapie" + "-rééducation" * 12)
        page.fill("#starts", f"{day.isoformat()}T10:00")
        page.get_by_role("button", name="Ajouter à l’agenda").click()
        page.wait_for_url(re.compile(r".*/agenda/appointments/\d+$"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        page.goto(f"/agenda/?day={day.isoformat()}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        spilled = page.eval_on_selector_all(
            ".agenda-nav .button",
            "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)")
        assert spilled == []
        titles = page.locator(".day__title").all_inner_texts()
        assert len(titles) == 7
        for title in titles:
            weekday, month = title.split()[-3], title.split()[-1]
            assert weekday[0].isupper() and month == month.lower(), title
    finally:
        with _db(live_server) as db:
            db.execute("UPDATE users SET large_text = 0 WHERE email = ?", (JEANNE[0],))
