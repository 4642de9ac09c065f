"""Signed-in sessions: starting one, ending it, and signing out of every device."""

from __future__ import annotations

from flask import session
from flask_login import login_user, logout_user

from ...extensions import db
from .. import fresh
from ..models import User, new_session_token
from ..signals import signed_out_everywhere


def start_session(user: User) -> None:
    """Sign in with a fresh session: nothing from before the sign-in survives."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language
    login_user(user, remember=False, fresh=True)
    fresh.mark_fresh()


def end_session() -> None:
    logout_user()
    session.clear()


def sign_out_everywhere(user: User) -> None:
    """Every session of this user, on every device, stops working at its next request, and
    (through `signals.signed_out_everywhere`) no device keeps receiving their notifications."""
    user.session_token = new_session_token()
    signed_out_everywhere.send(user)
    db.session.commit()
    end_session()
