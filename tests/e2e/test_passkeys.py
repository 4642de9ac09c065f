"""Passkeys in a real Chromium: a CDP virtual authenticator (ctap2, internal, resident key,
user verification) registers a passkey, and the person signs in with it without typing anything."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_accessible, sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")


@pytest.fixture
def authenticator(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})
    yield cdp, added["authenticatorId"]
    cdp.send("WebAuthn.disable")


def _register_a_passkey(page, name="Test phone"):
    sign_in_with_password(page, *JEANNE)
    page.click("nav.tabbar a[href='/accounts/me']")
    page.wait_for_url("**/accounts/me")
    page.fill("#new-passkey-name", name)
    page.click("#add-passkey [data-passkey-start]")
    page.locator("#flashes .flash--success", has_text=name).wait_for()


def test_register_sign_out_and_sign_in_with_the_passkey(page, authenticator):
    # A browser without passkey autofill: the button is the way in. (Chromium's virtual
    # authenticator answers an autofill request at once, as if the person had picked the
    # passkey, which would sign in before the button is reached.)
    page.add_init_script("delete PublicKeyCredential.isConditionalMediationAvailable;")
    cdp, authenticator_id = authenticator
    sign_in_with_password(page, *JEANNE)
    page.click("nav.tabbar a[href='/accounts/me']")
    page.wait_for_url("**/accounts/me")
    assert_accessible(page)

    page.fill("#new-passkey-name", "Test phone")
    page.click("#add-passkey [data-passkey-start]")
    page.locator("#flashes .flash--success", has_text="Test phone").wait_for()
    assert page.input_value("#passkeys input[name=name]") == "Test phone"
    assert "jamais utilisée" in page.locator("#passkeys").inner_text()  # Jeanne reads French
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    [credential] = credentials["credentials"]
    assert credential["isResidentCredential"] is True

    page.click("#sign-out")
    page.wait_for_url("**/accounts/sign-in")
    button = page.locator("#passkey-sign-in [data-passkey-start]")
    assert button.is_visible()
    assert_accessible(page)
    button.click()  # no email typed: a discoverable credential
    page.wait_for_url("**/home")
    assert "Jeanne Martin" in page.locator("h1").inner_text()

    page.goto("/accounts/me")
    assert "dernière utilisation" in page.locator("#passkeys").inner_text()
    counters = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert counters["credentials"][0]["signCount"] >= 1


def test_the_email_fields_autofill_offers_the_passkey_and_signs_in(page, authenticator):
    cdp, authenticator_id = authenticator
    _register_a_passkey(page)
    page.click("#sign-out")
    # The sign-in page asks the browser to offer this site's passkeys in the email field's
    # suggestions; the virtual authenticator picks the passkey as a person would.
    page.wait_for_url("**/home")
    assert "Jeanne Martin" in page.locator("h1").inner_text()
    counters = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert counters["credentials"][0]["signCount"] >= 1
    page.goto("/accounts/me")
    assert "dernière utilisation" in page.locator("#passkeys").inner_text()


def test_the_button_waits_for_the_autofills_challenge_before_asking_for_its_own(
    page, authenticator
):
    # Each answer to a request for options sets the session cookie to its own challenge. A tap
    # on the button while the autofill's request is still on the network used to send a second
    # request at once; when the autofill's answer arrived last, the button's passkey was
    # refused. The autofill's request is held here to open that window wide.
    _register_a_passkey(page)
    asked, held = [], []

    def hold_the_first(route):
        asked.append(route.request.url)
        if len(asked) == 1:
            held.append(route)
        else:
            route.continue_()

    page.route("**/accounts/passkey/options", hold_the_first)
    page.click("#sign-out")
    page.wait_for_url("**/accounts/sign-in")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the autofill did not ask for options"
    page.click("#passkey-sign-in [data-passkey-start]")
    page.wait_for_timeout(500)
    assert len(asked) == 1, "the button asked for a challenge while the autofill's was pending"
    held[0].continue_()
    page.wait_for_url("**/home")
    assert "Jeanne Martin" in page.locator("h1").inner_text()
    assert len(asked) == 2


def test_the_sign_in_form_marks_the_email_field_for_passkeys(page):
    page.goto("/accounts/sign-in")
    assert page.get_attribute("#email", "autocomplete") == "username webauthn"
    # No passkey on this device: the autofill request waits quietly, nothing is announced,
    # and the password still signs in.
    assert page.locator("#passkey-sign-in [data-passkey-status]").inner_text() == ""
    sign_in_with_password(page, *JEANNE)
    assert "Jeanne Martin" in page.locator("h1").inner_text()


def test_rename_then_remove_with_confirmation(page, authenticator):
    sign_in_with_password(page, *JEANNE)
    page.goto("/accounts/me")
    page.fill("#new-passkey-name", "Old tablet")
    page.click("#add-passkey [data-passkey-start]")
    page.locator("#flashes .flash--success", has_text="Old tablet").wait_for()

    item = page.locator("#passkeys li", has=page.locator("input[value='Old tablet']"))
    item.locator("input[name=name]").fill("Kitchen tablet")
    item.locator("button[type=submit]").click()
    page.locator("#passkeys .flash--success").wait_for()
    assert page.locator("#passkeys input[value='Kitchen tablet']").count() == 1

    item = page.locator("#passkeys li", has=page.locator("input[value='Kitchen tablet']"))
    item.locator("a[href$='/remove']").click()
    page.wait_for_url(re.compile(r".*/accounts/me/passkeys/\d+/remove$"))
    assert "Kitchen tablet" in page.locator("h1").inner_text()
    assert_accessible(page)
    page.click("#confirm-remove")
    page.locator("#flashes .flash--success", has_text="Kitchen tablet").wait_for()
    assert page.locator("#passkeys input[value='Kitchen tablet']").count() == 0


def test_a_refused_passkey_prompt_says_so(page, authenticator):
    cdp, authenticator_id = authenticator
    sign_in_with_password(page, *JEANNE)
    page.goto("/accounts/me")
    # The authenticator cannot verify the user: the browser refuses, the page explains.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator_id,
                                          "isUserVerified": False})
    page.click("#add-passkey [data-passkey-start]")
    status = page.locator("#add-passkey [data-passkey-status]")
    status.filter(has_text="annulée ou a expiré").wait_for()
    assert status.get_attribute("role") == "alert"
    assert page.locator("#add-passkey [data-passkey-start]").is_enabled()


def test_a_browser_without_passkeys_is_told_to_use_a_password(context, page):
    page.add_init_script("delete window.PublicKeyCredential;")
    page.goto("/accounts/sign-in")
    assert page.locator("#passkey-sign-in [data-passkey-start]").is_hidden()
    assert page.get_by_text("This device or browser cannot use passkeys.").is_visible()
    assert page.locator("#password-form").is_visible()


def test_account_pages_pass_axe(page, authenticator):
    page.goto("/accounts/join")
    assert_accessible(page)
    sign_in_with_password(page, "admin@demo.healthspace.test", "admin-demo-2026")
    page.goto("/accounts/invitations")
    page.select_option("#role", "professional")
    page.select_option("#profession", "midwife")
    page.fill("#rpps", "31313131313")
    page.click("#invitation-form button[type=submit]")
    code = page.locator("#new-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert_accessible(page)
    page.goto("/accounts/reauth?next=/accounts/me")
    assert_accessible(page)
    page.goto("/accounts/me")
    page.click("#sign-out")
    page.wait_for_url("**/accounts/sign-in")

    # The invited midwife joins with a passkey.
    page.goto(f"/accounts/join?code={code}")
    assert "Midwife" in page.locator("#join").inner_text()
    assert_accessible(page)
    page.fill("#display_name", "Sophie Sage-femme")
    page.fill("#join-email", "sophie@example.test")
    page.click("#join-passkey [data-passkey-start]")
    page.wait_for_url("**/home")
    assert "Sophie Sage-femme" in page.locator("h1").inner_text()


NARROW = {"width": 320, "height": 700}


def _page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth,"
                         " document.documentElement.clientWidth]")


def test_at_320px_a_long_passkey_name_and_an_invitation_link_stay_on_the_screen(
    phone, live_server
):
    page = phone(live_server.url, "fr-FR", viewport=NARROW, timeout=None)
    page.add_init_script("delete PublicKeyCredential.isConditionalMediationAvailable;")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})
    # A name typed without a space (80 characters, the most allowed): in the flash that
    # says it was added, and in the title of the page that asks to remove it.
    sign_in_with_password(page, "nadia@demo.healthspace.test", "nadia-demo-2026")
    page.goto("/accounts/me")
    page.fill("#new-passkey-name", "x" * 80)
    page.click("#add-passkey [data-passkey-start]")
    page.locator("#flashes .flash--success").wait_for()
    width, screen = _page_width(page)
    assert width <= screen, f"the Me page is {width} px wide on a {screen} px screen"
    item = page.locator("#passkeys li", has=page.locator(f"input[value='{'x' * 80}']"))
    item.locator("a[href$='/remove']").click()
    page.wait_for_url(re.compile(r".*/accounts/me/passkeys/\d+/remove$"))
    width, screen = _page_width(page)
    assert width <= screen, f"the removal page is {width} px wide on a {screen} px screen"
    page.click("#confirm-remove")
    page.wait_for_url(re.compile(r".*/accounts/me$"))
    cdp.send("WebAuthn.disable")

    page.goto("/accounts/me")
    page.click("#sign-out")
    page.wait_for_url("**/accounts/sign-in")
    sign_in_with_password(page, "admin@demo.healthspace.test", "admin-demo-2026")
    page.goto("/accounts/invitations")
    page.click("#invitation-form button[type=submit]")
    page.locator("#new-code-link").wait_for()
    width, screen = _page_width(page)
    assert width <= screen, f"the new code's link makes the page {width} px wide"


def test_at_320px_the_links_standing_alone_are_full_size_tap_targets(phone, live_server):
    page = phone(live_server.url, "fr-FR", viewport=NARROW, timeout=None)
    pages = [("/accounts/sign-in", "a[href='/accounts/join']"),
             ("/accounts/join", "main a[href='/accounts/sign-in']")]
    for path, selector in pages:
        page.goto(path)
        box = page.locator(selector).bounding_box()
        assert box["height"] >= 44, (path, selector, box)
    sign_in_with_password(page, "admin@demo.healthspace.test", "admin-demo-2026")
    pages = [("/accounts/me", "main a[href='/push/']"),
             ("/accounts/me", "main a[href='/accounts/invitations']"),
             ("/accounts/reauth?next=/accounts/me", "main a[href='/accounts/me']")]
    for path, selector in pages:
        page.goto(path)
        box = page.locator(selector).bounding_box()
        assert box["height"] >= 44, (path, selector, box)
