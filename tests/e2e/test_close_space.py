"""The patient closes her space from the Me page, then opens it again by signing in, in Chromium."""

from __future__ import annotations

from tests.e2e.conftest import assert_accessible, sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def test_jeanne_closes_her_space_and_opens_it_again(page, phone, live_server):
    claire = phone(live_server.url, "fr-FR")
    sign_in_with_password(claire, *CLAIRE)
    claire.goto("/circle/")
    assert "Jeanne Martin" in claire.locator("main").inner_text()
    sign_in_with_password(page, *JEANNE)
    page.goto("/accounts/me")
    page.click("#close-space-link")
    page.wait_for_url("**/accounts/me/close")
    assert "Rien n’est supprimé." in page.locator("#close-effects").inner_text()

    # The box must be ticked: the browser keeps the form until it is.
    page.click("#close-space")
    assert page.url.endswith("/accounts/me/close")
    page.check("#close-confirm")
    page.click("#close-space")
    page.wait_for_url("**/accounts/sign-in")
    assert "Votre espace est fermé." in page.locator(".flash").first.inner_text()

    # Her daughter, signed in on her own phone, no longer finds her mother's space.
    claire.goto("/circle/")
    assert "Jeanne Martin" not in claire.locator("main").inner_text()

    # Her password still proves it is her: she is offered to open the space again.
    page.fill("#email", JEANNE[0])
    page.fill("#password", JEANNE[1])
    page.click("#password-form button[type=submit]")
    page.wait_for_url("**/accounts/closed")
    assert page.locator("h1").inner_text() == "Votre espace est fermé"
    assert_accessible(page)
    page.click("#reopen-space")
    page.wait_for_url("**/home")
    assert "de nouveau ouvert" in page.locator(".flash").first.inner_text()

    claire.goto("/circle/")
    assert "Jeanne Martin" in claire.locator("main").inner_text()
