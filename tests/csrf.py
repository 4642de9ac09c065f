"""The CSRF token a page carries: in its forms (`csrf_token` field) or, on signed-in pages, in
the headers htmx sends (`X-CSRFToken`)."""

from __future__ import annotations

import re

_IN_FORM = re.compile(r'name="csrf_token" value="([^"]+)"')
_IN_HEADERS = re.compile(r'"X-CSRFToken": "([^"]+)"')


def token_in(html: str) -> str | None:
    found = _IN_FORM.search(html) or _IN_HEADERS.search(html)
    return found.group(1) if found else None
