"""The care circle in the patient's export: who was given access to what, until when; who is
blocked; invitations, requests and emergency accesses; the access history, line by line."""

from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..core.export import export_section
from ..extensions import db
from .models import AccessRequest, Block, CircleSettings, EmergencyAccess, Grant, Invitation


def _person(user) -> dict | None:
    if user is None:
        return None
    person = {"name": user.display_name, "role": user.role}
    if user.profession:
        person["profession"] = user.profession
    return person


def _rows(model, patient):
    return db.session.scalars(
        select(model).where(model.patient_id == patient.id).order_by(model.id)
    ).all()


@export_section("circle")
def circle(patient) -> dict:
    settings = db.session.get(CircleSettings, patient.id)
    return {
        "access_given": [
            {"to": _person(g.grantee), "scopes": sorted(g.scope_set), "since": g.created_at,
             "until": g.ends_at, "revoked_at": g.revoked_at}
            for g in _rows(Grant, patient)
        ],
        "blocked": [_person(b.professional) for b in _rows(Block, patient)],
        "invitations": [
            {"label": i.label, "scopes": sorted(i.scope_set), "created_at": i.created_at,
             "expires_at": i.expires_at, "used_at": i.used_at, "cancelled_at": i.cancelled_at}
            for i in _rows(Invitation, patient)
        ],
        "access_requests": [
            {"from": _person(r.professional), "scopes": sorted(r.scope_set), "note": r.note,
             "asked_at": r.created_at, "decided_at": r.decided_at, "accepted": r.accepted}
            for r in _rows(AccessRequest, patient)
        ],
        "emergency_access_allowed": settings.emergency_access_allowed if settings else True,
        "emergency_accesses": [
            {"by": _person(e.professional), "reason": e.reason, "started_at": e.started_at,
             "ends_at": e.ends_at}
            for e in _rows(EmergencyAccess, patient)
        ],
    }


@export_section("access_history")
def access_history(patient):
    """Every line, oldest first, read in pages (a long history is never loaded whole)."""
    for event in audit.all_of(patient.id):
        yield {
            "at": event.at,
            "who": event.actor_name,
            "acting_as": event.acting_as,
            "on_behalf_of": event.on_behalf_of.display_name if event.on_behalf_of else None,
            "action": event.action,
            "object": event.object_type,
            "object_id": event.object_id,
            "kind": event.kind,
            "device": event.device,
            "emergency": event.emergency,
        }
