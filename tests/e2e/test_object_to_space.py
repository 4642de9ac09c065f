"""The right to object, in Chromium: the person a patient's space was to be opened for refuses
it from the join page; the administrator sees the refusal."""

from __future__ import annotations

from tests.e2e.conftest import assert_accessible, sign_in_with_password

ADMIN = ("admin@demo.healthspace.test", "admin-demo-2026")


def test_marcel_refuses_the_space_opened_for_him(page, phone, live_server):
    sign_in_with_password(page, *ADMIN)
    page.goto("/accounts/invitations")
    page.select_option("#role", "patient")
    page.fill("#invite-email", "marcel@example.test")
    page.click("#invitation-form button[type=submit]")
    code = page.locator("#new-code").inner_text().strip()

    marcel = phone(live_server.url, "fr-FR")
    marcel.goto(f"/accounts/join?code={code}")
    marcel.click("#object-start")
    marcel.wait_for_url("**/accounts/join/object")
    assert marcel.locator("h1").inner_text() == "Refuser mon espace\u202f?"
    assert_accessible(marcel)
    marcel.click("#object-confirm")
    marcel.locator("h1", has_text="Votre refus est enregistré").wait_for()
    assert_accessible(marcel)

    marcel.goto(f"/accounts/join?code={code}")
    assert "Vous avez refusé cet espace" in marcel.locator("#join").inner_text()

    page.goto("/accounts/invitations")
    assert "Refusé par la personne" in page.locator("#invitation-form .list li").first.inner_text()
