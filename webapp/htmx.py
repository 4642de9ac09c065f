"""Render a full page, or only its fragment when HTMX asks for it."""

from __future__ import annotations

from flask import make_response, render_template, request


def wants_fragment() -> bool:
    """An HTMX request that is not a boosted navigation wants just the fragment."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    template = fragment if (fragment and wants_fragment()) else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_to(url: str):
    """Redirect a full page; for an HTMX request, tell htmx to navigate (a 302 would be swapped)."""
    from flask import redirect

    if request.htmx and not request.htmx.boosted:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)
