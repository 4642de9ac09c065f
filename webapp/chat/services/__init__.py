"""Every chat write and every chat rule, by subject. Access decisions come from policy.py.

  common         limits, rooms, the language-and-zone variants a message is rendered in,
                 input checks
  conversations  loading a conversation for a request or a socket event, starting, closing;
                 which conversations a person may read, which members can no longer read
                 one; withdrawing live access
  messages       sending, delivering, pushing to members who are away, history, the replay
                 after a reconnect, delivered and read marks
  listing        the conversation list and the unread total
  snapshot       what a socket event loads: the conversation as plain values
  quick_replies  professionals' saved short texts

Import from here (`from webapp.chat import services`); the names below are the package's
surface: what the routes, the socket handlers, the demo and the tests call. The limits and
the input checks stay in common.
"""

from __future__ import annotations

from .common import (
    NAMESPACE,
    SCREEN_ROOMS,
    conversation_room,
    now,
    parse_id,
    parse_optional_id,
    screen_room,
    user_room,
    variant_of,
    variant_room,
)
from .conversations import (
    add_members,
    addable,
    candidates,
    event_conversation,
    get_conversation,
    load_for_event,
    members_without_access,
    readable_conversation_ids,
    set_closed,
    start_conversation,
    withdraw_access,
)
from .listing import conversation_list, known_unread_total, unread_total
from .messages import history, mark, messages_after, post_message, render_message, status_of
from .quick_replies import add_quick_reply, delete_quick_reply, quick_replies

__all__ = [
    "NAMESPACE", "SCREEN_ROOMS", "add_members", "add_quick_reply", "addable", "candidates",
    "conversation_list", "conversation_room", "delete_quick_reply", "event_conversation",
    "get_conversation", "history", "known_unread_total", "load_for_event", "mark",
    "members_without_access", "messages_after", "now", "parse_id", "parse_optional_id",
    "post_message",
    "quick_replies", "readable_conversation_ids", "render_message", "screen_room",
    "set_closed", "start_conversation", "status_of", "unread_total", "user_room", "variant_of",
    "variant_room", "withdraw_access",
]
