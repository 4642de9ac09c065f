"""The circle on the home page: access requests waiting for the patient's answer."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..core.home import HomeItem, home_provider
from . import services


@home_provider
def circle_items(user) -> list[HomeItem]:
    if not user.is_patient:
        return []
    return [HomeItem(_("%(name)s asks for access to your space: accept or decline?",
                       name=request.professional.display_name),
                     url_for("circle.index"), "alert")
            for request in services.pending_requests(user)]
