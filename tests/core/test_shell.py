"""The shell follows the person's display settings and shows the emergency notice as designed."""

from __future__ import annotations

import re

from flask import render_template


def _html_tag(html: str) -> str:
    return re.search(r"<html[^>]*>", html, flags=re.S).group(0)


def test_large_text_and_theme_reach_the_page(app, client, make_user, login):
    from webapp.accounts.models import User
    from webapp.extensions import db

    user = make_user("patient", language="en")
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.large_text, stored.theme = True, "dark"
        db.session.commit()
    login(client, user)
    tag = _html_tag(client.get("/home").get_data(as_text=True))
    assert 'class="large-text"' in tag
    assert 'data-theme="dark"' in tag


def test_default_settings_follow_the_phone(client, make_user, login):
    login(client, make_user("patient", language="en"))
    tag = _html_tag(client.get("/home").get_data(as_text=True))
    assert 'class=""' in tag
    assert 'data-theme="auto"' in tag


def test_signed_out_pages_have_no_tab_bar_but_a_language_switcher(client):
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "tabbar" not in html
    assert 'id="language-switcher"' in html


def test_signed_in_pages_have_the_tab_bar_and_no_language_switcher(client, make_user, login):
    login(client, make_user("patient", language="en"))
    html = client.get("/home").get_data(as_text=True)
    assert '<nav class="tabbar"' in html
    assert 'id="language-switcher"' not in html


def test_emergency_notice_in_both_languages(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = render_template("components/_emergency_notice.html")
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        french = render_template("components/_emergency_notice.html")
    assert re.sub(r"<[^>]+>", "", english).split() == \
        "Not for emergencies — call 15 or 112".split()
    assert 'href="tel:15"' in english and 'href="tel:112"' in english
    assert "Pas pour les urgences — appelez le" in french
    assert 'href="tel:15"' in french and 'href="tel:112"' in french
    assert 'id="emergency-notice"' in english
