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


def test_an_unexpected_failure_in_an_htmx_swap_is_shown_as_html(app):
    from webapp.core.errors import server_error

    with app.test_request_context("/agenda/appointments", method="POST",
                                  headers={"HX-Request": "true", "Accept": "*/*"}):
        response = app.make_response(server_error(RuntimeError("boom")))
        assert response.status_code == 500 and response.mimetype == "text/html"
        assert "Nothing was changed" in response.get_data(as_text=True)
