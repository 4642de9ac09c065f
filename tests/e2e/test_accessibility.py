"""axe-core reports no violation on any page, at 390×844, signed out and as every demo role.

The pages are DISCOVERED: every GET route of app.url_map without URL parameters, so pages other
domains add later are checked without editing this file. Pages that need an id in the URL are
reached by their own domain's browser tests.
"""

from __future__ import annotations

import warnings

import pytest

from tests.e2e.conftest import axe_violations, format_violations, sign_in_with_password
from webapp.cli import DEMO_ACCOUNTS

# Routes that are not pages, with the reason. Anything else answering with something other than
# HTML is skipped too, with a warning naming it.
EXCLUDED = {
    "/healthz": "JSON health check for load balancers, not a page",
    "/sw.js": "the service worker script",
    "/manifest.webmanifest": "the web app manifest (JSON)",
}
ROLES = [None, "patient", "relative", "professional", "admin"]
# Dark theme: the same pages for a visitor and for the patient (the palette is shared).
DARK_ROLES = [None, "patient"]


def discovered_pages(app) -> list[str]:
    paths = {
        rule.rule for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    }
    return sorted(paths - set(EXCLUDED))


def account(role: str) -> dict:
    return next(a for a in DEMO_ACCOUNTS if a["role"] == role)


def audit(phone, live_server, app, role, scheme) -> tuple[dict, list[str]]:
    page = phone(live_server.url, timeout=15_000, color_scheme=scheme)
    found, visited = {}, []
    if role:
        sign_in_with_password(page, account(role)["email"], account(role)["password"])
    seen = set()
    for path in discovered_pages(app):
        response = page.goto(path)
        assert response is not None, path
        kind = (response.headers.get("content-type") or "").split(";")[0]
        if kind != "text/html":
            warnings.warn(f"{path} answers {kind or 'nothing'}: not a page, skipped",
                          stacklevel=1)
            continue
        final = page.url.removeprefix(live_server.url)
        if final.split("?")[0] in seen:
            continue  # e.g. a redirect to the sign-in page, already checked
        seen.add(final.split("?")[0])
        visited.append(final)
        violations = axe_violations(page)
        if violations:
            found[path if path == final else f"{path} -> {final}"] = violations
    return found, visited


CASES = [("light", r) for r in ROLES] + [("dark", r) for r in DARK_ROLES]


@pytest.mark.parametrize("scheme,role", CASES, ids=lambda v: v or "signed-out")
def test_no_axe_violation_on_any_page(phone, live_server, app, role, scheme):
    found, visited = audit(phone, live_server, app, role, scheme)
    assert visited, "no page was checked"
    if role:
        assert "/home" in visited
    else:
        assert "/accounts/sign-in" in visited
    assert not found, f"{scheme}, {role or 'signed out'}:\n{format_violations(found)}"


def test_exclusions_name_real_routes(app):
    paths = {rule.rule for rule in app.url_map.iter_rules()}
    assert set(EXCLUDED) <= paths, "an exclusion names a route that no longer exists"
