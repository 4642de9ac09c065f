"""Notification actions: "Taken", "Snooze 10 min", "Confirm" posted by the service worker,
authorised by the signed per-delivery token alone (no session, no CSRF token)."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from ... import policy
from ...extensions import csrf, db, limiter
from .. import bp, services, worker
from ..models import Delivery


@bp.post("/actions")
@csrf.exempt
@limiter.limit("60 per minute")
def action():
    """"Taken", "Snooze 10 min", "Confirm" from a notification, without opening the app.

    The service worker has no session CSRF token: the signed per-delivery token is the only
    credential, and it acts only for the patient the notification was sent to.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error=_("The request could not be understood.")), 400
    delivery_id = worker.read_action_token(body.get("token"))
    name = body.get("action")
    if delivery_id is None or name not in ("taken", "snooze", "confirm"):
        return jsonify(error=_("This notification has expired.")), 400
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        return jsonify(error=_("This notification has expired.")), 404
    actor = delivery.recipient
    policy.require(actor, "agenda.delivery_action", delivery)
    if name == "confirm":
        if delivery.appointment is None:
            return jsonify(error=_("This notification has expired.")), 400
        services.confirm_appointment(actor, delivery.appointment)
    else:
        if delivery.reminder is None or delivery.kind not in ("reminder", "snooze"):
            return jsonify(error=_("This notification has expired.")), 400
        if name == "taken":
            services.record_dose(actor, delivery.reminder, delivery.occurrence_at, via="push")
        else:
            services.snooze(actor, delivery.reminder, delivery.occurrence_at)
    return jsonify(ok=True, action=name)
