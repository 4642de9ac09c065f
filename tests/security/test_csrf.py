"""Every POST needs the CSRF token: without it, a 400 with a clear message and nothing changed."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.csrf import token_in

MESSAGE = "This form has expired. Reload the page and try again."


def _token(client, path="/accounts/sign-in") -> str:
    return token_in(client.get(path).get_data(as_text=True))


def _language_of(client) -> str:
    html = client.get("/accounts/sign-in", headers={"Accept-Language": "en"}).get_data(as_text=True)
    return re.search(r'<html lang="([a-z]+)"', html).group(1)


def test_sign_in_without_token_is_refused_and_signs_nobody_in(client, csrf_enabled, make_user):
    user = make_user("patient")
    response = client.post("/accounts/sign-in", data={"email": user.email,
                                                      "password": factories.PASSWORD})
    assert response.status_code == 400
    assert MESSAGE in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # still signed out


def test_wrong_token_is_refused(client, csrf_enabled):
    _token(client)
    response = client.post("/language", data={"language": "fr", "csrf_token": "forged"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert MESSAGE in response.get_data(as_text=True)
    assert _language_of(client) == "en"


def test_token_from_another_session_is_refused(app, client, csrf_enabled):
    other = app.test_client()
    stolen = _token(other)
    _token(client)
    response = client.post("/language", data={"language": "fr", "csrf_token": stolen},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert _language_of(client) == "en"


def test_signed_in_change_without_token_changes_nothing(app, client, csrf_enabled, make_user):
    user = make_user("patient", language="en")
    token = _token(client)
    response = client.post("/accounts/sign-in", data={
        "email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code in (302, 204)

    response = client.post("/language", data={"language": "fr"})
    assert response.status_code == 400
    from webapp.accounts.models import User
    from webapp.extensions import db

    with app.app_context():
        assert db.session.get(User, user.id).language == "en"


@pytest.mark.parametrize("headers,kind", [
    ({"HX-Request": "true"}, "fragment"),
    ({"Accept": "application/json"}, "json"),
    ({}, "page"),
])
def test_refusal_speaks_the_callers_format(client, csrf_enabled, headers, kind):
    response = client.post("/language", data={"language": "fr"}, headers=headers)
    assert response.status_code == 400
    if kind == "json":
        assert response.get_json() == {"error": MESSAGE}
    else:
        html = response.get_data(as_text=True)
        assert MESSAGE in html
        assert ("<!doctype html>" in html.lower()) == (kind == "page")


def test_french_refusal(client, csrf_enabled):
    response = client.post("/language", data={"language": "fr"},
                           headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert "Ce formulaire a expiré" in response.get_data(as_text=True)


def test_the_token_htmx_sends_in_its_header_is_accepted(client, csrf_enabled):
    # base.html puts the token in <body hx-headers>; htmx sends it as X-CSRFToken.
    html = client.get("/accounts/sign-in").get_data(as_text=True)
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    response = client.post("/language", data={"language": "fr"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302
    assert _language_of(client) == "fr"


def test_the_token_in_the_form_is_accepted(client, csrf_enabled):
    response = client.post("/language", data={"language": "fr", "csrf_token": _token(client)})
    assert response.status_code == 302
    assert _language_of(client) == "fr"
