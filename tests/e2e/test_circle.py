"""The care circle in a real Chromium at phone size (the demo accounts speak French, so the
steps find things by id and data- attributes): Jeanne invites her daughter, who joins with
the code, acts for her mother and opens her summary; Jeanne narrows the access and sees her
daughter's visit in her Activity page. axe-core finds nothing on any of these screens."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")
DAUGHTER_EMAIL = "sophie.martin@example.test"


def test_invite_join_act_for_narrow_and_see_the_activity(live_server, page, phone):
    # Jeanne invites her daughter, with the summary among the scopes.
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    assert_accessible(page)
    page.fill("#invite-label", "Sophie")
    page.check("#invite-summary")
    page.click("#circle-invite button[type=submit]")
    code = page.locator("#invitation-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{5}-[A-Z0-9]{5}", code)
    assert page.locator("img.qr").is_visible()
    assert_accessible(page)

    # Her daughter, on her own phone, joins with the code and creates her account.
    daughter = phone(live_server.url)
    daughter.goto("/circle/join")
    assert_accessible(daughter)
    daughter.fill("#join-code", code.lower())  # typed casually: still the code
    daughter.fill("#join-name", "Sophie Martin")
    daughter.fill("#join-email", DAUGHTER_EMAIL)
    daughter.fill("#join-password", "sophie-demo-2026")
    daughter.click("#circle-join button[type=submit]")
    daughter.wait_for_url("**/circle/")
    banner = daughter.locator("#banners .banner--acting")
    assert banner.inner_text() == "Acting for Jeanne Martin"
    assert_accessible(daughter)

    # She acts for her mother: opens her summary (recorded in Jeanne's history).
    daughter.click("#patient-{} a:has-text('Health summary')".format(
        page.evaluate("document.body.dataset.userId")))
    daughter.wait_for_url("**/summary")
    assert daughter.locator("h1").inner_text() == "Health summary of Jeanne Martin"
    assert daughter.locator("#banners .banner--acting").is_visible()  # on every page

    # Jeanne narrows her daughter's access: no more summary.
    page.goto("/circle/")
    person = page.locator(f"li[data-grantee='{DAUGHTER_EMAIL}']")
    person.locator("summary").click()
    summary_box = person.locator("input[name=scopes][value=summary]")
    assert summary_box.is_checked()
    summary_box.uncheck()
    person.locator("button[type=submit]").first.click()  # "Save access"
    page.wait_for_selector("#flashes .flash--success")
    assert "Sophie Martin" in page.locator("#flashes").inner_text()

    # The daughter's next look at the summary is refused.
    response = daughter.goto(daughter.url)
    assert response.status == 403

    # Jeanne sees her daughter's visit in her Activity page, and filters on her.
    page.goto("/circle/activity")
    rows = page.locator("#activity-rows li[data-kind=summary]")
    assert rows.count() == 1
    assert "Sophie Martin" in rows.first.inner_text()
    assert rows.first.get_attribute("data-action") == "read"
    assert_accessible(page)
    page.select_option("#f-kind", "messages")  # swapped in by htmx, no reload
    page.wait_for_selector("#activity-rows li[data-kind=summary]", state="detached")
    assert page.locator("#activity-rows li[data-kind]:not([data-kind=messages])").count() == 0
    page.select_option("#f-kind", "summary")
    page.wait_for_selector("#activity-rows li[data-kind=summary]")
    page.click("a.tabs__tab[href*='tab=mine']")
    page.wait_for_url("**tab=mine")
    assert page.locator("#activity-rows li[data-action=change]").count() == 1


def test_directory_and_relative_view_pass_axe(page):
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/directory")
    page.fill("#directory-q", "nurse")
    page.wait_for_selector("#directory-results li")
    assert "Nadia Benali" in page.locator("#directory-results").inner_text()
    assert_accessible(page)
    page.goto("/circle/activity")
    assert_accessible(page)
    page.context.clear_cookies()
    sign_in_with_password(page, "claire@demo.healthspace.test", "claire-demo-2026")
    page.goto("/circle/")
    assert "Jeanne Martin" in page.locator("#banners .banner--acting").inner_text()
    assert_accessible(page)


def test_copy_buttons_put_the_code_and_the_link_on_the_clipboard(live_server, context, page):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    page.fill("#invite-label", "Luc")
    page.click("#circle-invite button[type=submit]")  # boosted: copy.js comes with the page
    code = page.locator("#invitation-code").inner_text().strip()
    link = page.locator("#invitation-link").inner_text().strip()
    status = page.locator("#invitation-copy-status")

    copy_code = page.locator("button[data-copy-target=invitation-code]")
    assert copy_code.inner_text() == "Copier"  # Jeanne speaks French
    assert copy_code.get_attribute("aria-label") == "Copier le code"
    box = copy_code.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44  # a finger's tap target
    page.evaluate("""() => {  // see which way it copies: the clipboard API here
        const write = navigator.clipboard.writeText.bind(navigator.clipboard);
        window.written = [];
        navigator.clipboard.writeText = (t) => { window.written.push(t); return write(t); };
    }""")
    copy_code.click()
    expect(status).to_have_text("Copié")
    assert _clipboard_becomes(page, code)
    assert page.evaluate("window.written") == [code]

    page.locator("button[data-copy-target=invitation-link]").click()
    assert _clipboard_becomes(page, link)  # the status already says "Copié": read the clipboard
    expect(status).to_have_text("Copié")
    assert page.evaluate("window.written") == [code, link]
    assert_accessible(page)


def _clipboard_becomes(page, text: str) -> bool:
    """Polls the clipboard in the page (page.wait_for_function would not await readText)."""
    return page.evaluate("""async (want) => {
        for (let i = 0; i < 50; i++) {
            if (await navigator.clipboard.readText() === want) return true;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return false;
    }""", text)


def test_without_the_clipboard_api_the_code_is_selected(live_server, context, page):
    # A page served over http from anywhere but localhost has no navigator.clipboard (and,
    # here, the old copy command fails too): the code is selected for the phone's own Copy.
    page.add_init_script("delete Navigator.prototype.clipboard;"
                         " Document.prototype.execCommand = function () { return false; };")
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    page.fill("#invite-label", "Luc")
    page.click("#circle-invite button[type=submit]")
    code = page.locator("#invitation-code").inner_text().strip()
    assert page.evaluate("typeof navigator.clipboard") == "undefined"
    page.locator("button[data-copy-target=invitation-code]").click()
    expect(page.locator("#invitation-copy-status")).to_have_text(
        "Sélectionné\u202f: copiez-le avec la commande Copier de votre appareil.")
    assert page.evaluate("window.getSelection().toString().trim()") == code


def _in_view(page, selector: str) -> bool:
    """The element's box lies within the viewport, below the sticky top bar."""
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        const bar = document.querySelector('.topbar').getBoundingClientRect().bottom;
        return box.top >= bar && box.bottom <= window.innerHeight;
    }""", selector)


def _brought_into_view(page, selector):
    """The answer arrived, the page scrolled down to it, and it is on the screen."""
    page.wait_for_selector(selector)
    page.wait_for_function("() => window.scrollY > 0")
    assert _in_view(page, selector)


def test_a_new_code_and_a_refusal_come_into_view_on_a_small_phone(live_server, context, page):
    # The invitation form is far down the circle page; the answer used to come back scrolled
    # to the top, the code (or the reason it was refused) out of sight below.
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    page.fill("#invite-label", "Luc")
    page.click("#circle-invite button[type=submit]")
    _brought_into_view(page, "#invitation-code")
    assert _in_view(page, "#invite-title")

    page.goto("/circle/")
    page.fill("#invite-label", "Luc")
    page.uncheck("#invite-messages")
    page.uncheck("#invite-agenda")
    page.click("#circle-invite button[type=submit]")
    _brought_into_view(page, "#invite-error")


def test_a_refused_request_for_access_comes_into_view_with_the_note_kept(
        live_server, context, page):
    # Jeanne takes back Dr Lefèvre's access (she is asked first); he then asks for it again,
    # ticking nothing by mistake, on a small phone.
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in_with_password(page, *JEANNE)
    page.goto("/circle/")
    doctor = page.locator("li[data-grantee='dr.lefevre@demo.healthspace.test']")
    doctor.locator("summary").click()
    doctor.locator("form[action$='/revoke'] button").click()
    page.wait_for_selector("#flashes .flash--success")
    page.context.clear_cookies()

    page.set_viewport_size({"width": 320, "height": 640})
    sign_in_with_password(page, "dr.lefevre@demo.healthspace.test", "paul-demo-2026")
    page.goto(f"/circle/patients/find?email={JEANNE[0]}")
    page.uncheck("#req-messages")
    page.uncheck("#req-summary")
    page.fill("#req-note", "Je suis son nouveau médecin traitant")
    page.click("#found-patient form[action*='/request'] button[type=submit]")
    _brought_into_view(page, "#request-error")
    assert page.input_value("#req-note") == "Je suis son nouveau médecin traitant"
    # The keyboard is on what to correct (the first box), not sent back to the page's top.
    expect(page.locator("#req-messages")).to_be_focused()

    # Asked properly: the circle page and its message, from the top.
    page.check("#req-messages")
    page.click("#found-patient form[action*='/request'] button[type=submit]")
    page.wait_for_selector("#flashes .flash--success")
    page.wait_for_function("() => window.scrollY === 0")
    assert _in_view(page, "#flashes .flash--success")
