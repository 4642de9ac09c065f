"""The password fallback in a real Chromium: sign-in, a wrong password, and the rate limit."""

from __future__ import annotations

import re

from tests.e2e.conftest import assert_accessible, sign_in_with_password

CLAIRE = ("claire@demo.healthspace.test", "claire-demo-2026")


def _focus_reaches(page, element_id: str) -> str:
    """Polls (in the page: page.wait_for_function would evaluate a string, which the page's CSP
    forbids) until `element_id` has the focus, for up to 3 s; returns the id focused last."""
    return page.evaluate("""async (wanted) => {
        const until = Date.now() + 3000;
        for (;;) {
            const id = document.activeElement ? document.activeElement.id : "";
            if (id === wanted || Date.now() > until) return id;
            await new Promise(resolve => setTimeout(resolve, 50));
        }
    }""", element_id)


def test_password_sign_in_reaches_home_and_the_me_tab(page):
    sign_in_with_password(page, *CLAIRE)
    assert "Claire Martin" in page.locator("h1").inner_text()
    page.click("nav.tabbar a[href='/accounts/me']")
    page.wait_for_url("**/accounts/me")
    assert page.locator("#settings").is_visible()


def test_after_a_wrong_password_the_focus_is_back_in_the_password_field(page):
    # The form is swapped in place: the button that had the focus is gone. The focus goes to
    # the password to type again (not to the top of the page), the error said with it. (The
    # sign-in form is checked in the test below; here the "confirm it is you" form, before
    # that test uses up this address's sign-in tries.)
    sign_in_with_password(page, "nadia@demo.healthspace.test", "nadia-demo-2026")
    page.goto("/accounts/reauth?next=/accounts/me")
    page.fill("#reauth-password-input", "not her password")
    page.click("#reauth-password button[type=submit]")  # a tap: the focus leaves the field
    page.locator("#reauth-error").wait_for()
    assert _focus_reaches(page, "reauth-password-input") == "reauth-password-input"
    assert page.get_attribute("#reauth-password-input", "aria-describedby") == "reauth-error"
    page.keyboard.type("nadia-demo-2026")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/accounts/me$"))


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
        # The focus is in the password field, to type it again.
        assert _focus_reaches(page, "password") == "password"
    assert_accessible(page)

    # The sixth try, even with the right password, waits.
    page.fill("#password", "jeanne-demo-2026")
    with page.expect_response("**/accounts/sign-in") as answer:
        page.click("#password-form button[type=submit]")
    assert answer.value.status == 429
    page.locator("#password-error", has_text="Too many attempts").wait_for()
    assert page.locator("#password-error").inner_text() == \
        "Too many attempts. Please wait a minute and try again."
    assert page.url.endswith("/accounts/sign-in")


