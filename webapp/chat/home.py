"""Messaging on the home page: the unread secure messages, one tap from the list of them."""

from __future__ import annotations

from flask import url_for
from flask_babel import ngettext

from ..core.home import HomeItem, home_provider
from . import services


@home_provider
def chat_items(user) -> list[HomeItem]:
    unread = services.unread_total(user)
    if not unread:
        return []
    return [HomeItem(ngettext("%(num)d unread message", "%(num)d unread messages", unread),
                     url_for("chat.index", filter="unread"), "alert")]
