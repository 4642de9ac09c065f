"""Error answers take the form the asker can show: HTML for pages and HTMX swaps (whose
requests accept anything), JSON only for a client that asks for it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("headers, mimetype", [
    ({"HX-Request": "true", "Accept": "*/*"}, "text/html"),
    ({"Accept": "*/*"}, "text/html"),
    ({"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "text/html"),
    ({"Accept": "application/json"}, "application/json"),
])
def test_a_refusal_answers_in_the_form_asked_for(client, headers, mimetype):
    response = client.post("/healthz", headers=headers)  # GET only: 405
    assert response.status_code == 405
    assert response.mimetype == mimetype
    assert "not allowed" in response.get_data(as_text=True)


def test_an_error_swapped_into_a_page_does_not_add_a_second_h1(client):
    fragment = client.post("/healthz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h2>" in fragment and "<h1" not in fragment
    page = client.post("/healthz").get_data(as_text=True)
    assert page.count("<h1") == 1


def test_an_unexpected_failure_in_an_htmx_swap_is_shown_as_html(app):
    from webapp.core.errors import server_error

    with app.test_request_context("/agenda/appointments", method="POST",
                                  headers={"HX-Request": "true", "Accept": "*/*"}):
        response = app.make_response(server_error(RuntimeError("boom")))
        assert response.status_code == 500 and response.mimetype == "text/html"
        assert "Nothing was changed" in response.get_data(as_text=True)


@pytest.fixture
def signed_in_with_csrf(app, client, make_user, login):
    login(client, make_user("patient", language="en"))
    app.config["WTF_CSRF_ENABLED"] = True
    yield client
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true", "HX-Current-URL": "http://localhost/push/?tab=1"},  # htmx form
    {"HX-Request": "true", "HX-Boosted": "true",
     "HX-Current-URL": "http://localhost/push/?tab=1"},  # boosted form
    {"Referer": "http://localhost/push/?tab=1"},  # a form without JavaScript
])
def test_an_expired_form_offers_to_reload_the_page_it_was_on(signed_in_with_csrf, headers):
    # An installed app has no reload button: the answer itself must lead back to the form.
    client = signed_in_with_csrf
    response = client.post("/push/preferences", data={"csrf_token": "stale"}, headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form has expired. Reload the page and try again." in html
    assert '<a href="/push/?tab=1">Reload the page</a>' in html


@pytest.mark.parametrize("headers", [
    {"HX-Request": "true", "HX-Current-URL": "https://elsewhere.example/push/"},
    {"Referer": "https://elsewhere.example/push/"},
    {"Referer": "http://localhost//elsewhere.example/"},
    {},
])
def test_an_expired_form_never_links_off_site(signed_in_with_csrf, headers):
    html = signed_in_with_csrf.post("/push/preferences", data={"csrf_token": "stale"},
                                    headers=headers).get_data(as_text=True)
    assert "This form has expired" in html
    assert "Reload the page</a>" not in html and "elsewhere" not in html


def test_an_error_page_is_titled_with_what_happened(client, make_user, login):
    # The title is what a screen reader says first and what the phone's app switcher shows:
    # "404" means nothing to most people.
    assert ("<title>This page does not exist. · Health Space</title>"
            in client.get("/nope", headers={"Accept-Language": "en"}).get_data(as_text=True))
    login(client, make_user("patient", language="fr"))
    assert ("<title>Cette page n’existe pas. · Health Space</title>"
            in client.get("/nope").get_data(as_text=True))
