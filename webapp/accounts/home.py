"""Accounts on the home page: the administrator's way to the invitation codes."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..core.home import HomeItem, home_provider


@home_provider
def accounts_items(user) -> list[HomeItem]:
    if not user.is_admin:
        return []
    return [HomeItem(_("Invitation codes: create one for each new person"),
                     url_for("accounts.invitations"))]
