"""Constants, rooms, rendering variants and input checks shared by the chat's services."""

from __future__ import annotations

import re
import sys
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime

import flask_babel
import pytz
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...errors import NotFound, UserError
from ...extensions import db
from ...i18n import number
from ...ids import to_id
from ..presence import presence

NAMESPACE = "/chat"
MAX_BODY = 4000
MAX_SUBJECT = 120
MAX_QUICK_REPLY = 300
MAX_QUICK_REPLIES = 30
MAX_MEMBERS = 20
PAGE_SIZE = 30
SYNC_LIMIT = 200
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PUSH_TTL = 24 * 3600


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def conversation_room(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


SCREEN_ROOMS = "screen:"


def screen_room(conversation_id: int) -> str:
    """The sockets whose page shows this conversation now (typing is for them only)."""
    return f"{SCREEN_ROOMS}{conversation_id}"


# ---- Variants: each member sees a message in their own language and time zone -----------
#
# A socket joins `conversation:<id>` (closing, membership: no text to translate) and
# `conversation:<id>:<language>:<time zone>`, its variant's sub-room, which gets the rendered
# message fragment. A new message is rendered once per variant among the live sockets of its
# members (typically one or two) and each rendering goes to its sub-room.


def variant_of(user) -> str:
    """"<language>|<time zone>" for this user, falling back to the app's defaults."""
    config = current_app.config
    language = getattr(user, "language", None)
    if language not in config["LANGUAGES"]:
        language = config["BABEL_DEFAULT_LOCALE"]
    zone = getattr(user, "timezone", None) or config["DEFAULT_TIMEZONE"]
    try:
        pytz.timezone(zone)
    except Exception:  # noqa: BLE001 - an unknown zone name: the default one
        zone = config["DEFAULT_TIMEZONE"]
    # Interned: every live socket keeps its variant (presence), and there are only a few.
    return sys.intern(f"{language}|{zone}")


def variant_room(conversation_id: int, variant: str) -> str:
    language, _, zone = variant.partition("|")
    return f"conversation:{conversation_id}:{language}:{zone}"


@contextmanager
def rendering_for(variant: str):
    """Templates inside this block speak `variant`'s language and show times in its zone."""
    language, _, zone = variant.partition("|")
    ctx = flask_babel._get_current_context()
    saved = getattr(ctx, "babel_tzinfo", None)
    ctx.babel_tzinfo = pytz.timezone(zone)
    try:
        with force_locale(language):
            yield
    finally:
        if saved is None:
            del ctx.babel_tzinfo
        else:
            ctx.babel_tzinfo = saved


# ---- Input -----------------------------------------------------------------------------

_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_text(text, *, limit: int, empty_message, long_message) -> str:
    """The messages are lazy (translated only when the text is refused): this runs on every
    message sent."""
    if not isinstance(text, str):
        raise UserError(str(empty_message), field="body")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Control and format characters (bidi overrides, NUL…) can disguise text: keep only
    # line breaks and tabs among them.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in _CONTROL)
    text = text.strip()
    if not text:
        raise UserError(str(empty_message), field="body")
    if len(text) > limit:
        raise UserError(str(long_message), field="body")
    return text


def clean_body(body) -> str:
    return clean_text(
        body,
        limit=MAX_BODY,
        empty_message=_l("Write a message before sending."),
        long_message=_l("A message can have at most %(n)s characters.", n=number(MAX_BODY)),
    )


def clean_client_id(client_id) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise UserError(_("This message has no valid identifier. Reload the page and try again."))
    return client_id


def parse_id(value) -> int:
    """A positive database id from a form field, a query string or a socket payload."""
    number = to_id(value)
    if number is None:
        raise NotFound(_("This conversation does not exist."))
    return number


def parse_optional_id(value) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    number = to_id(value)
    if number is None:
        raise UserError(_("The request could not be understood."))
    return number


# ---- Shared by the writes ------------------------------------------------------------


def live_presence():
    """Presence, shared through Redis when the app has REDIS_URL (any process: a server, a
    CLI command or a worker that changes access must see every server's sockets)."""
    presence.configure(current_app.config)
    return presence


def commit_keeping_loaded() -> None:
    """Commit without expiring what this request already loaded: the page about to render
    would otherwise reload every message and member one query at a time."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
