"""The access history is append-only: no code path updates or deletes a row, and no route
(every route of every domain, as declared in the matrix) changes an existing one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.security import matrix as m
from tests.security.test_matrix import domain_names, load, routes_of
from webapp import audit
from webapp.extensions import db

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


def _snapshot() -> dict[int, tuple]:
    table = audit.AccessEvent.__table__
    with db.engine.connect() as conn:
        return {row.id: tuple(row) for row in conn.execute(sa.select(table))}


def test_the_orm_refuses_updates_and_deletes(app_ctx, make_user):
    patient, relative = make_user("patient"), make_user("relative")
    row = audit.record(db.session.get(type(relative), relative.id),
                       patient.id, "read", "summary", patient.id)
    db.session.commit()
    row.action = "nothing to see"
    with pytest.raises(audit.AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(audit.AccessEvent, row.id))
    with pytest.raises(audit.AppendOnlyError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(audit.AccessEvent, row.id).action == "read"


def test_no_code_writes_to_the_history_other_than_inserting():
    pattern = re.compile(
        r"(update|delete)\s*\(\s*(audit\.)?AccessEvent|(UPDATE|DELETE\s+FROM)\s+access_events"
        r"|AccessEvent\b[^\n]*\.(update|delete)\(", re.IGNORECASE)
    offenders = []
    for path in WEBAPP.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(WEBAPP.parent)}:{number}: {line.strip()}")
    assert not offenders, "history rows must never be changed:\n" + "\n".join(offenders)
    source = (WEBAPP / "audit.py").read_text()
    assert "def record(" in source
    assert not re.search(r"def (update|delete|remove|erase|purge|edit)\w*\(", source)


def test_no_route_changes_an_existing_history_row(app):
    """Every declared route of every domain, asked as the owner, a relative, a professional
    and the admin: rows already in the history come out exactly as they went in."""
    scenario = m.build_scenario(app)
    with app.app_context():
        from webapp.accounts.models import User

        owner = db.session.get(User, scenario.owner.id)
        for role in (m.RELATIVE_ALL, m.PRO_GRANTED):
            actor = db.session.get(User, scenario.user(role).id)
            for kind in ("message", "appointment", "document", "summary"):
                audit.record(actor, owner, "read", kind, 1)
        audit.record(owner, owner, "grant", "grant", 1)
        db.session.commit()
        before = _snapshot()
    assert len(before) == 9
    asked = 0
    for domain in domain_names():
        declared, _events = load(domain)
        for _endpoint, route in routes_of(declared):
            if not isinstance(route, m.Route):
                continue
            for role in (m.OWNER, m.RELATIVE_ALL, m.PRO_GRANTED, m.ADMIN):
                with app.app_context():
                    path = m.resolve(route.path, scenario)
                    data = m.resolve(route.data, scenario)
                    json = m.resolve(route.json, scenario)
                    db.session.commit()
                    db.session.remove()
                cookie = m.disposable_cookie(scenario, role) if route.disposable_actor else None
                client = m.client_for(scenario, role, cookie)
                kwargs = {"method": route.method}
                if json is not None:
                    kwargs["json"] = json
                elif data is not None:
                    kwargs["data"] = data
                client.open(path, **kwargs)
                asked += 1
    with app.app_context():
        after = _snapshot()
    assert asked > 50
    changed = [row_id for row_id, row in before.items() if after.get(row_id) != row]
    assert not changed, f"history rows changed or vanished: {changed}"
