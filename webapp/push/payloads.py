"""What a notification says: the payload in the user's language, with health detail only for
someone who chose to see it (the "show details" setting), encoded within the 4 KB limit."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from ..extensions import db
from .devices import user_id, utcnow
from .models import PushPreference

KINDS = ("message", "reminder", "medication", "appointment", "test")
# RFC 8291: the encrypted record (86-byte header, 1 padding delimiter, 16-byte tag) must fit in
# the 4096 bytes every push service accepts.
MAX_PAYLOAD_BYTES = 4096 - 86 - 1 - 16


# ---- Preference --------------------------------------------------------------------------

def shows_details(user) -> bool:
    """The user's choice to see titles and sender names in notifications. Default: no."""
    value = db.session.scalar(select(PushPreference.show_details).filter_by(
        user_id=user_id(user)))
    return bool(value)


def set_show_details(user, value: bool) -> None:
    pref = db.session.get(PushPreference, user.id)
    if pref is None:
        pref = PushPreference(user_id=user.id)
        db.session.add(pref)
    pref.show_details = bool(value)
    pref.updated_at = utcnow()
    db.session.commit()


# ---- Payloads ----------------------------------------------------------------------------

def _generic_text(kind: str) -> tuple[str, str]:
    if kind == "message":
        return _("New secure message"), _("Open Health Space to read it.")
    if kind == "test":
        return _("Test notification"), _("Notifications work on this device.")
    return _("You have a reminder"), _("Open Health Space to see it.")


def users_showing_details(user_ids: Iterable[int]) -> set[int]:
    """Of these users, those who chose to see details (one query, for batches)."""
    ids = sorted(set(user_ids))
    chosen: set[int] = set()
    for start in range(0, len(ids), 500):
        chosen.update(db.session.scalars(_showing_details(), {"ids": ids[start:start + 500]}))
    return chosen


@cache
def _showing_details():
    # Built once, the ids bound at each run (see chat.services.messages._accounts): asked for
    # every message to someone offline.
    return select(PushPreference.user_id).where(
        PushPreference.user_id.in_(bindparam("ids", expanding=True)),
        PushPreference.show_details.is_(True))


def notification(user, *, kind: str, url: str, tag: str | None = None, title=None, body=None,
                 actions: Iterable[tuple[str, Any]] = (), data: dict | None = None,
                 show_details: bool | None = None) -> dict:
    """Build the payload for `user`, in their language.

    `title`/`body` may carry health detail: they are used only when the user chose to see
    details; otherwise the generic text for `kind` ("New secure message", "You have a reminder")
    goes out. `actions` are (action, label) pairs; labels may be lazy_gettext strings and are
    translated here, as is everything else, into the user's language (works outside a request).
    `show_details` skips the preference query when the caller already knows it (batches: see
    users_showing_details()).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    language = getattr(user, "language", None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    if show_details is None:
        show_details = shows_details(user)
    detailed = title is not None and show_details
    with force_locale(language):
        generic_title, generic_body = _generic_text(kind)
        payload = {
            "title": str(title) if detailed else generic_title,
            "body": (str(body) if body is not None else "") if detailed else generic_body,
            "url": url,
            "tag": tag or kind,
            "kind": kind,
            "actions": [{"action": a, "title": str(label)} for a, label in actions],
            "data": dict(data or {}),
        }
    return payload



def encode_payload(payload: dict) -> bytes:
    """The bytes that will be encrypted; ValueError when not a sendable payload."""
    if not isinstance(payload, dict) or not isinstance(payload.get("title"), str):
        raise ValueError("payload must be a dict with a string title")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload is {len(body)} bytes, over the {MAX_PAYLOAD_BYTES} limit")
    return body

