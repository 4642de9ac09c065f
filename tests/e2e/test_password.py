"""The password fallback in a real Chromium: sign-in, a wrong password, and the rate limit."""

from __future__ import annotations

from tests.e2e.conftest import axe_violations, format_violations, sign_in_with_password

CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def test_password_sign_in_reaches_home_and_the_me_tab(page):
    sign_in_with_password(page, *CLAIRE)
    assert "Claire Martin" in page.locator("h1").inner_text()
    page.click("nav.tabbar a[href='/accounts/me']")
    page.wait_for_url("**/accounts/me")
    assert page.locator("#settings").is_visible()


def test_wrong_passwords_then_the_rate_limit(page):
    page.goto("/accounts/sign-in")
    for attempt in range(5):
        page.fill("#email", "jeanne@demo.healthspace.test")
        page.fill("#password", f"wrong password {attempt}")
        with page.expect_response("**/accounts/sign-in") as answer:
            page.click("#password-form button[type=submit]")
        assert answer.value.status == 401
        error = page.locator("#password-error")
        error.wait_for()
        assert error.inner_text() == "Wrong email or password."
        # The typed email stays; the form was swapped in place, the page did not change.
        assert page.input_value("#email") == "jeanne@demo.healthspace.test"
    violations = axe_violations(page)
    assert not violations, format_violations(violations)

    # The sixth try, even with the right password, waits.
    page.fill("#password", "jeanne-demo-2026")
    with page.expect_response("**/accounts/sign-in") as answer:
        page.click("#password-form button[type=submit]")
    assert answer.value.status == 429
    page.locator("#password-error", has_text="Too many attempts").wait_for()
    assert page.locator("#password-error").inner_text() == \
        "Too many attempts. Please wait a minute and try again."
    assert page.url.endswith("/accounts/sign-in")
