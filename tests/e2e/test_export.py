"""The patient downloads her data from the Me page, in Chromium."""

from __future__ import annotations

import json

from tests.e2e.conftest import sign_in_with_password

JEANNE = ("jeanne@demo.healthspace.test", "jeanne-demo-2026")


def test_jeanne_downloads_a_copy_of_her_space(page):
    sign_in_with_password(page, *JEANNE)
    page.goto("/accounts/me")
    button = page.locator("#export-space")
    assert button.inner_text() == "Télécharger mes données"
    with page.expect_download() as download:
        button.click()
    file = download.value
    assert file.suggested_filename.startswith("health-space-")
    data = json.loads(open(file.path(), encoding="utf-8").read())
    assert data["account"]["email"] == JEANNE[0]
    assert [c["subject"] for c in data["conversations"]] == ["Pansement de la jambe"]
    # The page stayed where it was, usable.
    assert page.url.endswith("/accounts/me")
    assert page.locator("#export-space").is_enabled()
