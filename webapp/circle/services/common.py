"""What every part of the circle's services shares: the clock, the patient-only guard,
looking up a row of the patient's own circle, and telling listeners after a commit."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _

from ... import policy
from ...accounts.models import User
from ...errors import Forbidden, NotFound
from ...extensions import db
from ..signals import access_changed


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _patient_only(patient: User) -> None:
    if not policy.can(patient, "circle.manage", patient):
        raise Forbidden(_("Only a patient can manage who has access to their space."))


def _own(patient: User, model, row_id: int, missing: str):
    """A row of the patient's circle (grant, invitation, request, block) by id; another
    patient's row does not exist for them."""
    row = db.session.get(model, row_id)
    if not policy.can(patient, "circle.manage_item", row):
        raise NotFound(missing)
    return row


def _emit_after_commit(patient_id: int, grantee_id: int) -> None:
    """Tell listeners (the chat's live sockets) once the change is visible to everyone."""
    access_changed.send(current_app._get_current_object() if current_app else None,
                        patient_id=patient_id, grantee_id=grantee_id)
