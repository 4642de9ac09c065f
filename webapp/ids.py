"""Database ids from outside (URLs, form fields, socket payloads): ASCII digits within the range
every database here stores, or nothing. `int()` alone let "10**30" reach SQLite (OverflowError)
and `str.isdigit()` let "²" through (it is a digit to Unicode, not to int())."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


def to_id(value) -> int | None:
    """A positive id, or None for anything else (missing, negative, too big, not digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_ID))):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_ID:
        return value
    return None


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a number out of range is a page that does not exist (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
