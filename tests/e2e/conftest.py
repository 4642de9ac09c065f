"""Browser tests: Debian's Chromium driven by Playwright, at a phone viewport.

A missing browser is a failure, never a skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import ROOT, LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    assert Path(CHROMIUM).exists(), "Debian's chromium is required for the browser tests"
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A seeded server (demo accounts) shared by the tests of one module."""
    server = LiveServer(tmp_path_factory.mktemp("live")).prepare(seed=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def phone(browser):
    """Opens phones: `phone(base_url)` is the page of a new browser context (`page.context`).

    Playwright's context options pass through (color_scheme=..., java_script_enabled=...); one
    given as None is left to Playwright's default, and so is the timeout when it is None. `grant`
    gives permissions to base_url's origin before the page opens. Every context opened is closed
    at teardown, if the test has not closed it before.
    """
    contexts = []

    def open_phone(base_url, locale="en-GB", *, viewport=PHONE, timezone_id="Europe/Paris",
                   timeout=10_000, grant=(), **options):
        context = browser.new_context(viewport=viewport, base_url=base_url, locale=locale,
                                      timezone_id=timezone_id, **options)
        contexts.append(context)
        if grant:
            context.grant_permissions(list(grant), origin=base_url)
        page = context.new_page()
        if timeout is not None:
            page.set_default_timeout(timeout)
        return page

    yield open_phone
    for context in reversed(contexts):
        context.close()


@pytest.fixture
def page(phone, live_server):
    return phone(live_server.url)


@pytest.fixture
def context(page):
    return page.context


def sign_in_with_password(page, email: str, password: str) -> None:
    page.goto("/accounts/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#password-form button[type=submit]")
    page.wait_for_url("**/home")


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """Run axe-core in the page (WCAG 2.1 A/AA rules) and return its violations."""
    # Evaluated through the DevTools protocol: the page's CSP (no inline script) still holds.
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values:"
        " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def format_violations(violations: list[dict]) -> str:
    return json.dumps(violations, indent=2)


def assert_accessible(page) -> None:
    """axe-core finds no violation in the page as it is now (the page's URL in the message)."""
    violations = axe_violations(page)
    assert not violations, f"{page.url}\n{format_violations(violations)}"
