"""Input no view should see: ids out of range or not made of ASCII digits, NUL characters."""

from __future__ import annotations

import pytest

from webapp.ids import MAX_ID, to_id


@pytest.mark.parametrize("value, expected", [
    ("42", 42), (" 7 ", 7), (42, 42), (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None), (MAX_ID + 1, None), (str(10**30), None), ("0", None), (0, None),
    ("-1", None), ("²", None), ("٣", None), ("1.5", None), ("", None), (None, None),
    (True, None), (1.0, None), ([1], None),
])
def test_to_id_takes_only_ascii_digits_in_range(value, expected):
    assert to_id(value) == expected


def test_a_huge_id_in_a_url_is_a_missing_page(client, make_user, login):
    login(client, make_user("patient"))
    assert client.get(f"/agenda/appointments/{10**30}").status_code == 404
    assert client.get(f"/agenda/appointments/{MAX_ID}").status_code == 404


def test_a_nul_character_in_a_form_or_query_is_refused_whole(client, make_user, login):
    user = make_user("patient")
    login(client, user)
    refused = client.post("/accounts/me/settings", data={"display_name": "Jea\x00nne"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert "pas pu être comprise" in refused.get_data(as_text=True)  # in her language
    assert client.get("/chat/?q=a%00b").status_code == 400
    assert client.get("/chat/?q=ab").status_code == 200
