"""The Me page's header line (templates/accounts/me.html), kept with the phone-layout fixes of
the chat's pass: the role, then " · ", then the address, with real spaces around the dot.
(Its phone width at 320 px with large text is checked in tests/e2e/test_chat.py.)"""

from __future__ import annotations

import re

import pytest


def _header(html: str) -> str:
    match = re.search(r'<p class="lead[^"]*">(.*?)</p>', html, re.S)
    assert match, "no identity line"
    return re.sub(r"<[^>]+>", "", match.group(1))


@pytest.mark.parametrize(
    "role, fields, language, expected",
    [
        ("patient", {}, "fr", "Patient·e · {email}"),
        ("relative", {}, "fr", "Proche · {email}"),
        ("patient", {}, "en", "Patient · {email}"),
        ("relative", {}, "en", "Relative · {email}"),
        (
            "professional",
            {"rpps": "10101010101"},
            "fr",
            "Infirmier·ère · RPPS 10101010101 · {email}",
        ),
    ],
)
def test_role_and_address_are_separated_by_spaced_dots(
    client, login, make_user, role, fields, language, expected
):
    user = make_user(role, language=language, **fields)
    login(client, user)
    html = client.get("/accounts/me").get_data(as_text=True)
    assert _header(html) == expected.format(email=user.email)
    # The address may break anywhere (a long one must not widen a narrow screen).
    assert f'<span class="identity__email">{user.email}</span>' in html
