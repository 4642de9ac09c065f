"""Professionals' quick replies: short saved texts inserted into the composer."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ... import crypto, policy
from ...accounts.models import User
from ...errors import NotFound, UserError
from ...extensions import db
from ...i18n import number
from ..models import QuickReply
from .common import (
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY,
    clean_text,
    now,
    parse_id,
)


def quick_replies(user: User) -> list[QuickReply]:
    if not policy.can(user, "chat.quick_replies", None):
        return []
    return list(
        db.session.scalars(
            select(QuickReply).where(QuickReply.owner_id == user.id).order_by(QuickReply.id)
        )
    )


def add_quick_reply(user: User, text) -> QuickReply:
    policy.require(user, "chat.quick_replies", None)
    text = clean_text(
        text,
        limit=MAX_QUICK_REPLY,
        empty_message=_l("Write the text of the quick reply."),
        long_message=_l(
            "A quick reply can have at most %(n)s characters.", n=number(MAX_QUICK_REPLY)
        ),
    )
    count = db.session.scalar(
        select(func.count(QuickReply.id)).where(QuickReply.owner_id == user.id)
    )
    if count >= MAX_QUICK_REPLIES:
        raise UserError(_("You can keep at most %(n)d quick replies.", n=MAX_QUICK_REPLIES))
    at = now()
    reply = QuickReply(
        owner_id=user.id,
        created_at=at,
        text_sealed=crypto.seal(text, QuickReply.text_aad(user.id, at)),
    )
    db.session.add(reply)
    db.session.commit()
    return reply


def delete_quick_reply(user: User, reply_id) -> None:
    policy.require(user, "chat.quick_replies", None)
    reply = db.session.get(QuickReply, parse_id(reply_id))
    if reply is None or reply.owner_id != user.id:
        raise NotFound(_("This quick reply does not exist."))
    db.session.delete(reply)
    db.session.commit()
