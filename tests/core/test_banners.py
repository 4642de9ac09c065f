"""Page-wide banners come from every domain that registers a provider, side by side: one
domain's banners never replace another's."""

from __future__ import annotations

import pytest

from webapp.core import banners


@pytest.fixture
def another_domain():
    """A second domain's provider, registered for the test and removed after it."""

    def provider(user):
        return [("info", f"Another domain greets {user.display_name}")]

    banners.banner_provider(provider)
    banners.banner_provider(provider)  # imported twice: still registered once
    yield provider
    banners.PROVIDERS.remove(provider)


def _banners(html: str) -> list[str]:
    import re

    return re.findall(r'class="banner banner--(\w+)"[^>]*>([^<]*)<', html)


def test_two_domains_banners_show_together(app, client, make_user, login, another_domain):
    from webapp.circle import services as circle
    from webapp.circle.models import Grant
    from webapp.extensions import db

    patient = make_user("patient", display_name="Jeanne Martin", language="en")
    relative = make_user("relative", display_name="Claire Martin", language="en")
    with app.app_context():
        circle.grant(db.session.get(type(patient), patient.id),
                     db.session.get(type(relative), relative.id), "messages", None)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(Grant)) == 1
    login(client, relative)
    shown = _banners(client.get("/home", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert ("acting", "Acting for Jeanne Martin") in shown  # the circle's
    assert ("info", "Another domain greets Claire Martin") in shown  # and the other domain's
    assert len(shown) == 2


def test_nobody_signed_in_gets_no_banner(client, another_domain):
    html = client.get("/accounts/sign-in").get_data(as_text=True)
    assert _banners(html) == []
    assert banners.collect(None) == []


def test_providers_keep_their_registration_order(app, make_user, another_domain):
    def last(user):
        return [("alert", "last")]

    banners.banner_provider(last)
    try:
        user = make_user("admin", display_name="Admin", language="en")
        assert [(b.kind, b.text) for b in banners.collect(user)[-2:]] == [
            ("info", "Another domain greets Admin"), ("alert", "last")]
    finally:
        banners.PROVIDERS.remove(last)
