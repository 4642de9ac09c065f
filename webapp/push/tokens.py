"""Signed per-delivery tokens for notification actions.

A service worker that handles a notification action ("taken", "snooze", "confirm") has no CSRF
token: it POSTs `{"action", "token"}` to the payload's `data.action_url`. The endpoint behind
that URL is CSRF-exempt and trusts only this token, which names what it acts on and the actions
it allows, and expires.

    token = make_action_token("agenda.dose", {"occurrence": 42, "user": 7})
    data = read_action_token("agenda.dose", token, max_age=3 * 86400)  # dict, or None

The purpose string keeps a token minted for one endpoint useless at another.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"push-action:{purpose}")


def make_action_token(purpose: str, data: dict) -> str:
    return _serializer(purpose).dumps(data)


def read_action_token(purpose: str, token, max_age: int) -> dict | None:
    """The signed data if the token is genuine, for this purpose, and younger than max_age."""
    # Tokens are ASCII: anything else (a lone surrogate cannot even be encoded) is not one.
    if not isinstance(token, str) or not token or len(token) > 2000 or not token.isascii():
        return None
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadData:
        return None
    return data if isinstance(data, dict) else None
