"""The installable shell in a real Chromium: manifest, service worker, offline page, shell
behaviour (boosted navigation, language switch, error swaps)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.csrf import token_in
from tests.e2e.conftest import sign_in_with_password
from tests.live import LiveServer

PATIENT = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")


def wait_until_controlled(page) -> None:
    """Wait for the worker to activate, then reload so it controls the page."""
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def cached_urls(page) -> list[str]:
    return page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) urls.push(name + " " + request.url);
        }
        return urls;
    }""")


def test_manifest_is_served_and_parsed_by_chromium(page, live_server):
    page.goto("/accounts/sign-in")
    manifest = page.evaluate("""async () => {
        const link = document.querySelector('link[rel=manifest]');
        const response = await fetch(link.href);
        return {type: response.headers.get('content-type'), body: await response.json()};
    }""")
    assert manifest["type"].startswith("application/manifest+json")
    assert manifest["body"]["display"] == "standalone"
    for icon in manifest["body"]["icons"]:
        size = page.evaluate("""async (src) => {
            const img = new Image(); img.src = src; await img.decode();
            return img.naturalWidth + 'x' + img.naturalHeight;
        }""", icon["src"])
        assert icon["sizes"] in (size, "any")

    # Chromium's own manifest parser: no errors, and the fields it understood.
    cdp = page.context.new_cdp_session(page)
    result = cdp.send("Page.getAppManifest")
    assert result["url"].endswith("/manifest.webmanifest")
    assert result["errors"] == []
    parsed = result["manifest"]
    assert parsed["display"] == "kStandalone"
    assert parsed["scope"] == f"{live_server.url}/"
    assert parsed["startUrl"] == f"{live_server.url}/"
    assert parsed["themeColor"] == "rgba(11,95,165,1)"
    sizes = {i["sizes"] for i in parsed["icons"] if i["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes


def test_service_worker_controls_the_page_after_reload(page, live_server):
    page.goto("/accounts/sign-in")
    assert page.evaluate("navigator.serviceWorker.controller") is None  # first visit
    wait_until_controlled(page)
    registration = page.evaluate("""async () => {
        const r = await navigator.serviceWorker.getRegistration('/');
        return {scope: r.scope, script: r.active.scriptURL};
    }""")
    assert registration["scope"] == f"{live_server.url}/"
    assert registration["script"] == f"{live_server.url}/sw.js"

    # The app can be installed: Chromium finds nothing missing (a Playwright context is an
    # incognito profile, where nothing installs; that is the one reason allowed).
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []


def test_nothing_signed_in_is_ever_cached(page, live_server):
    page.goto("/accounts/sign-in")
    wait_until_controlled(page)
    sign_in_with_password(page, *PATIENT)
    for tab in page.locator("nav.tabbar a").all():
        href = tab.get_attribute("href")
        page.goto(href)
    page.goto("/home")
    urls = cached_urls(page)
    assert any(u.endswith("/offline") for u in urls)
    assert any("/static/css/app.css?v=" in u for u in urls)
    for entry in urls:
        name, url = entry.split(" ", 1)
        assert name.startswith("healthspace-shell-")
        path = url.removeprefix(live_server.url)
        versioned = path.startswith("/static/") and "v" in parse_qs(urlsplit(path).query)
        assert path == "/offline" or versioned, path


def test_offline_page_appears_when_the_server_is_stopped(phone, tmp_path):
    server = LiveServer(tmp_path / "offline-server").prepare(seed=True).start()
    page = phone(server.url)
    try:
        page.goto("/accounts/sign-in")
        wait_until_controlled(page)
        sign_in_with_password(page, *PATIENT)
        server.stop()

        # A real navigation: the worker answers with the precached offline page.
        page.goto("/home")
        assert page.locator("h1").inner_text() == "You are offline"
        assert page.locator("#emergency-notice a[href='tel:112']").is_visible()
        assert "Jeanne" not in page.content()

        # A boosted navigation (a tap on a tab) that cannot reach the server ends there too.
        page.go_back()
        page.wait_for_load_state()
        page.goto("/offline")  # a page with a same-site link to follow while offline
        page.evaluate("""() => {
            const a = document.createElement('a');
            a.href = '/home'; a.id = 'boosted-link'; a.textContent = 'home';
            a.setAttribute('hx-boost', 'true');
            document.body.appendChild(a);
        }""")
        page.click("#boosted-link")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are offline"
    finally:
        page.context.close()  # before the server stops
        server.stop()


def test_boosted_tab_navigation_from_a_shell_page(page, live_server):
    sign_in_with_password(page, *PATIENT)
    page.evaluate("window.__sameDocument = true")
    me = page.locator("nav.tabbar a[href='/accounts/me']")
    me.click()
    page.wait_for_url("**/accounts/me")
    assert page.evaluate("window.__sameDocument === true"), "tab navigation reloaded the page"
    assert page.locator("nav.tabbar a[aria-current=page]").get_attribute("href") == "/accounts/me"
    # The same URL works as a full page load.
    page.reload()
    assert page.locator("nav.tabbar a[aria-current=page]").get_attribute("href") == "/accounts/me"


def test_visitor_switches_to_french_on_the_sign_in_page(page, live_server):
    page.goto("/accounts/sign-in")
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("#language-switcher button[value=fr]")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    assert page.locator("#language-switcher button[value=en]").inner_text() == "English"
    assert page.locator(".skip-link").inner_text() == "Aller au contenu"
    page.goto("/accounts/sign-in")  # kept in the session
    assert page.locator("html").get_attribute("lang") == "fr"


def test_a_refusal_is_shown_in_the_page(page, live_server):
    # 4xx answers are swapped in (htmx 2 drops them by default): the person sees why.
    page.goto("/accounts/sign-in")
    page.fill("#email", PATIENT[0])
    page.fill("#password", "not the password")
    page.click("#password-form button[type=submit]")
    expect(page.locator("#password-form [role=alert]")).to_be_visible()
    expect(page.locator("#password-form [role=alert]")).not_to_be_empty()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_follows_the_phone(phone, live_server, scheme):
    page = phone(live_server.url, color_scheme=scheme)
    page.goto("/accounts/sign-in")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(15, 20, 25)")


def test_boosted_navigation_refreshes_the_session_attributes_of_body(page, live_server):
    # Signed in behind the page's back (as a passkey ceremony in another tab would): the next
    # boosted navigation must carry the new session's CSRF token and user id on <body>.
    page.goto("/accounts/sign-in")
    assert page.locator("body").get_attribute("data-user-id") == ""
    before = page.locator("body").get_attribute("hx-headers")
    html = page.context.request.get("/accounts/sign-in").text()
    token = token_in(html)
    page.context.request.post("/accounts/sign-in", form={
        "email": PATIENT[0], "password": PATIENT[1], "csrf_token": token})
    page.evaluate("window.__sameDocument = true")
    page.click("a.brand")  # boosted: / redirects to /home
    page.wait_for_url("**/home")
    assert page.evaluate("window.__sameDocument === true")
    assert page.locator("body").get_attribute("data-user-id") != ""
    assert page.locator("body").get_attribute("hx-headers") != before
    # A POST with the refreshed header token goes through (no CSRF refusal).
    status = page.evaluate("""async () => {
        const headers = JSON.parse(document.body.getAttribute('hx-headers'));
        const body = new URLSearchParams({language: 'fr', next: '/home'});
        const r = await fetch('/language', {method: 'POST', headers, body, redirect: 'manual'});
        return r.type === 'opaqueredirect' ? 302 : r.status;
    }""")
    assert status == 302


def test_a_form_sent_offline_says_nothing_was_sent(page, live_server):
    # Without a word, a tap on Save while offline looks like a save that worked.
    sign_in_with_password(page, *PATIENT)
    page.goto("/push/")
    form = page.locator("#push-preferences form")
    page.context.set_offline(True)
    try:
        form.locator("input[name=show_details]").check()
        form.locator("button[type=submit]").click()
        alert = form.locator(".send-error[role=alert]")
        expect(alert).to_have_count(1)
        assert alert.inner_text() == page.locator("body").get_attribute("data-send-error")
        assert "Health Space" in alert.inner_text()
        form.locator("button[type=submit]").click()  # still offline: said once, not twice
        expect(alert).to_have_count(1)
    finally:
        page.context.set_offline(False)
    page.reload()
    assert not page.locator("#push-preferences input[name=show_details]").is_checked()
    # Back online, the same form saves and the message is gone.
    page.locator("#push-preferences input[name=show_details]").check()
    page.locator("#push-preferences button[type=submit]").click()
    expect(page.locator("#push-preferences [role=status]")).not_to_be_empty()
    expect(page.locator(".send-error")).to_have_count(0)
    # Offline again: the "Saved." of the last try goes, it would say the opposite.
    page.context.set_offline(True)
    try:
        page.locator("#push-preferences input[name=show_details]").uncheck()
        page.locator("#push-preferences button[type=submit]").click()
        expect(page.locator("#push-preferences .send-error")).to_have_count(1)
        expect(page.locator("#push-preferences [role=status]")).to_be_empty()
    finally:
        page.context.set_offline(False)


def test_try_again_on_the_offline_page_asks_for_the_page_wanted(page, live_server):
    page.goto("/accounts/sign-in")
    wait_until_controlled(page)
    sign_in_with_password(page, *PATIENT)
    page.context.set_offline(True)
    try:
        page.goto("/agenda/")
        assert page.locator("#offline").is_visible()
    finally:
        page.context.set_offline(False)
    page.locator("#offline a.button").click()
    page.wait_for_url("**/agenda/")
    expect(page.locator("#offline")).to_have_count(0)
    assert page.locator("nav.tabbar a[aria-current=page]").get_attribute("href") == "/agenda/"
