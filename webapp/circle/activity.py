"""The Activity page: the patient's access history, filtered and paged by keyset."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import request
from flask_login import current_user, login_required

from .. import audit, policy
from ..accounts.models import User
from ..htmx import render
from . import activity_text, bp, labels, services

PERIODS = {"7d": 7, "30d": 30, "365d": 365}


def _activity_filters(patient: User) -> tuple[audit.Filters, dict]:
    args = request.args
    person = args.get("person", "")
    kind = args.get("kind", "")
    period = args.get("period", "")
    filters = audit.Filters()
    if person.isdigit():
        filters.person = int(person)
    if kind in audit.KIND_ORDER:
        filters.kind = kind
    if period in PERIODS:
        filters.since = services.now() - timedelta(days=PERIODS[period])
    chosen = {"person": str(filters.person or ""), "kind": filters.kind or "",
              "period": period if period in PERIODS else ""}
    return filters, chosen


def _cursor(raw: str | None):
    """'<iso time>_<id>' of the last row shown; anything else starts from the newest."""
    if not raw or "_" not in raw:
        return None
    at, _sep, row_id = raw.rpartition("_")
    try:
        return datetime.fromisoformat(at), int(row_id)
    except ValueError:
        return None


@bp.get("/activity")
@login_required
def activity():
    patient = current_user
    policy.require(current_user, "audit.read", patient)
    mine = request.args.get("tab") == "mine"
    filters, chosen = _activity_filters(patient)
    entries, older = audit.entries(patient.id, mine=mine, filters=filters,
                                   before=_cursor(request.args.get("before")))
    next_cursor = f"{older[0].isoformat()}_{older[1]}" if older else None
    context = dict(lines=activity_text.lines(patient.id, entries, reader_id=current_user.id),
                   more=bool(older),
                   next_cursor=next_cursor, mine=mine, chosen=chosen,
                   people=audit.people_in_history(patient.id), kinds=labels.kind_labels(),
                   periods=labels.period_labels(), device_labels=labels.device_labels())
    fragment = "circle/_activity_rows.html" if request.args.get("before") else \
        "circle/_activity.html"
    return render("circle/activity.html", fragment, **context)
