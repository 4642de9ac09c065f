"""Every chat write and every chat rule, by subject. Access decisions come from policy.py.

  common         limits, rooms, the language-and-zone variants a message is rendered in,
                 input checks
  conversations  loading a conversation for a request or a socket event, starting, closing;
                 which conversations a person may read; withdrawing live access
  messages       sending, delivering, pushing to members who are away, history, the replay
                 after a reconnect, delivered and read marks
  listing        the conversation list and the unread total
  quick_replies  professionals' saved short texts

Import from here (`from webapp.chat import services`); the names below are the package's
surface.
"""

from __future__ import annotations

from .common import (
    MAX_BODY,
    MAX_MEMBERS,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY,
    MAX_SUBJECT,
    NAMESPACE,
    PAGE_SIZE,
    SYNC_LIMIT,
    clean_body,
    clean_client_id,
    clean_text,
    commit_keeping_loaded,
    conversation_room,
    now,
    parse_id,
    parse_optional_id,
    rendering_for,
    user_room,
    variant_of,
    variant_room,
)
from .conversations import (
    candidates,
    get_conversation,
    prefetch_conversation,
    readable_conversation_ids,
    set_closed,
    start_conversation,
    withdraw_access,
)
from .listing import Row, conversation_list, unread_total
from .messages import (
    Status,
    history,
    mark,
    messages_after,
    notify_offline,
    post_message,
    render_message,
    status_of,
)
from .quick_replies import add_quick_reply, delete_quick_reply, quick_replies

__all__ = [
    "MAX_BODY",
    "MAX_MEMBERS",
    "MAX_QUICK_REPLIES",
    "MAX_QUICK_REPLY",
    "MAX_SUBJECT",
    "NAMESPACE",
    "PAGE_SIZE",
    "SYNC_LIMIT",
    "Row",
    "Status",
    "add_quick_reply",
    "candidates",
    "clean_body",
    "clean_client_id",
    "clean_text",
    "commit_keeping_loaded",
    "conversation_list",
    "conversation_room",
    "delete_quick_reply",
    "get_conversation",
    "history",
    "mark",
    "messages_after",
    "notify_offline",
    "now",
    "parse_id",
    "parse_optional_id",
    "post_message",
    "prefetch_conversation",
    "quick_replies",
    "readable_conversation_ids",
    "render_message",
    "rendering_for",
    "set_closed",
    "start_conversation",
    "status_of",
    "unread_total",
    "user_room",
    "variant_of",
    "variant_room",
    "withdraw_access",
]
