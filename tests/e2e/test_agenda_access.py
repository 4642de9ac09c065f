"""A relative's open agenda page follows the patient's access decisions, in Chromium: when the
patient takes the agenda scope away, the page loads itself again and no longer shows it."""

from __future__ import annotations

from tests.e2e.conftest import sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def test_the_agenda_page_of_a_relative_follows_a_narrowed_access(page, phone, live_server):
    claire = phone(live_server.url)
    sign_in_with_password(claire, *CLAIRE)
    claire.goto("/agenda/")
    view = claire.locator("[data-agenda-patient]")
    assert view.count() == 1
    claire.wait_for_function("() => window.HSChat && window.HSChat.connected()")

    # Jeanne takes the agenda away from her daughter's access, on her own phone.
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    person = page.locator(f"li[data-grantee='{CLAIRE[0]}']")
    person.locator("summary").click()
    person.locator("input[name=scopes][value=agenda]").uncheck()
    person.locator("button[type=submit]").first.click()
    page.wait_for_selector("#flashes .flash--success")

    # Claire did nothing: her page loaded itself again and shows her mother's agenda no more.
    claire.wait_for_selector("[data-agenda-patient]", state="detached")
    assert "Jeanne Martin" not in claire.locator("h1").inner_text()
