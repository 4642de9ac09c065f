"""Two people, two phones: Jeanne (patient) and Nadia (her nurse) in the demo conversation."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PHONE, axe_violations, format_violations, sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
NADIA = ("nadia@demo.healthspace.test", "nadia-demo-2026")


def open_demo_conversation(page, account):
    sign_in_with_password(page, *account)
    page.goto("/chat/")
    page.get_by_role("link", name="Pansement de la jambe").first.click()
    page.wait_for_selector("#chat[data-conversation-id]")
    # Connected: the replay on connect has run once the composer can send live.
    page.wait_for_function("() => window.HSChat && window.HSChat.connected()")
    return page


@pytest.fixture
def two_phones(browser, live_server):
    contexts = [
        browser.new_context(
            viewport=PHONE, base_url=live_server.url, locale="en-GB", timezone_id="Europe/Paris"
        )
        for _ in range(2)
    ]
    pages = []
    for context in contexts:
        page = context.new_page()
        page.set_default_timeout(10_000)
        pages.append(page)
    yield contexts, pages
    for context in contexts:
        context.close()


def test_live_conversation_between_patient_and_nurse(two_phones):
    (jeanne_ctx, nadia_ctx), (jeanne, nadia) = two_phones
    open_demo_conversation(jeanne, JEANNE)
    open_demo_conversation(nadia, NADIA)

    # Typing shows on the other phone.
    nadia.fill("#composer-body", "Bonjour Jeanne, comment va la jambe")
    nadia.locator("#composer-body").press_sequentially(" ?")
    jeanne.wait_for_selector("#typing:has-text('Nadia Benali')")

    # Send: it appears live on Jeanne's phone, and turns "read" on Nadia's.
    nadia.click("#composer button[type=submit]")
    mine = nadia.locator("#message-list .msg[data-id]", has_text="comment va la jambe").last
    jeanne.locator("#message-list .msg", has_text="comment va la jambe").wait_for()
    nadia.wait_for_function(
        "() => { const m = [...document.querySelectorAll('#message-list .msg[data-id]')]"
        ".filter(e => e.textContent.includes('comment va la jambe')).pop();"
        " return m && m.dataset.status === 'read'; }"
    )
    # A group conversation says who read it, in the reader's language.
    assert "Jeanne Martin" in mine.locator(".msg__status").inner_text()
    assert mine.locator(".msg__status").is_visible()  # the author sees statuses
    theirs = jeanne.locator("#message-list .msg", has_text="comment va la jambe").last
    assert not theirs.locator(".msg__status").is_visible()  # the reader does not

    # Offline: the message waits in the outbox, then goes when the network is back.
    jeanne_ctx.set_offline(True)
    jeanne.wait_for_function("() => !window.HSChat.connected()")
    jeanne.fill("#composer-body", "Envoyé hors connexion")
    jeanne.click("#composer button[type=submit]")
    pending = jeanne.locator("#message-list .msg--pending", has_text="Envoyé hors connexion")
    pending.wait_for()
    assert pending.get_attribute("data-status") == "waiting"
    assert jeanne.locator("#chat-connection").is_visible()
    jeanne_ctx.set_offline(False)
    nadia.locator("#message-list .msg", has_text="Envoyé hors connexion").wait_for()
    jeanne.locator("#message-list .msg[data-id]", has_text="Envoyé hors connexion").wait_for()
    assert jeanne.locator("#message-list .msg--pending").count() == 0
    # Stored once: a reload shows it exactly once.
    jeanne.reload()
    assert jeanne.locator("#message-list .msg", has_text="Envoyé hors connexion").count() == 1

    # Accessibility of both chat screens at the phone size.
    violations = axe_violations(jeanne)
    assert violations == [], format_violations(violations)
    jeanne.goto("/chat/")
    violations = axe_violations(jeanne)
    assert violations == [], format_violations(violations)


def test_composer_refuses_over_long_text_and_counts(page):
    open_demo_conversation(page, NADIA)
    page.fill("#composer-body", "x" * 10)
    assert page.locator("#composer-count").inner_text() == "10 / 4000"
    # The textarea stops at 4,000; even a forced longer value is refused with a clear message.
    page.evaluate("() => { document.querySelector('#composer-body').value = 'y'.repeat(4001); }")
    page.click("#composer button[type=submit]")
    assert "4001 / 4000" in page.locator("#composer-error").inner_text()
    assert page.locator("#message-list .msg--pending").count() == 0
