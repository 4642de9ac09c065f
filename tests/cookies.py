"""Responses that arrive late: apply one's cookies to a test client at the moment a browser
would, after responses to requests made later (two requests of one page in flight at once)."""

from __future__ import annotations

from http.cookies import SimpleCookie


def arrives_now(client, response) -> None:
    for header in response.headers.getlist("Set-Cookie"):
        for name, morsel in SimpleCookie(header).items():
            if morsel["max-age"] == "0":
                client.delete_cookie(name)
            else:
                client.set_cookie(name, morsel.value)
