"""Every page works as a full page load and as a boosted (hx-boost) navigation, for every role.

The routes are discovered from app.url_map, so pages other domains add are covered without
editing this file.
"""

from __future__ import annotations

import pytest

from webapp.cli import DEMO_ACCOUNTS

ROLES = [None, "patient", "relative", "professional", "admin"]
FRAGMENT = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true", "HX-Current-URL": "http://localhost/home"}


def page_routes(app) -> list[str]:
    """Every GET route without URL parameters (static files excluded: they are not pages)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            paths.add(rule.rule)
    return sorted(paths)


def signed_in_as(app, client, role):
    if role is None:
        return
    from webapp.demo import seed_demo

    with app.app_context():
        seed_demo(DEMO_ACCOUNTS)
    account = next(a for a in DEMO_ACCOUNTS if a["role"] == role)
    response = client.post("/accounts/sign-in", data={"email": account["email"],
                                                      "password": account["password"]})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]


def is_full_document(html: str) -> bool:
    head = html.lstrip()[:200].lower()
    return head.startswith("<!doctype html>") and "<main" in html and "</html>" in html


def test_discovery_finds_the_shell_pages(app):
    paths = page_routes(app)
    for expected in ("/", "/home", "/offline", "/accounts/sign-in", "/manifest.webmanifest"):
        assert expected in paths


def _get(client, path, headers):
    try:
        return client.get(path, headers=headers), None
    except Exception as exc:  # TESTING propagates errors: report every failing page at once
        return None, f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "signed-out")
def test_every_page_loads_fully_and_boosted(app, client, role):
    signed_in_as(app, client, role)
    problems, checked = [], 0
    for path in page_routes(app):
        for kind, headers in (("full", {}), ("boosted", BOOSTED), ("fragment", FRAGMENT)):
            response, error = _get(client, path, headers)
            label = f"{path} ({kind})"
            if error or response.status_code >= 500:
                problems.append(f"{label}: {error or response.status_code}")
                continue
            is_page = response.status_code == 200 and response.mimetype == "text/html"
            if kind != "fragment" and is_page:
                if not is_full_document(response.get_data(as_text=True)):
                    problems.append(f"{label}: not a full page")
                checked += 1
    assert not problems, f"as {role or 'signed-out'}:\n" + "\n".join(problems)
    assert checked >= 2
