"""Cost of the circle's hot paths, printed as JSON:
- policy.can("messages.read", patient) for a relative with a grant (asked on every route and
  socket event), and for the patient themself;
- one page (20 rows) of the Activity page by keyset, deep in a 50,000-row history, next to
  the same page by OFFSET (what keyset avoids).

Run: .venv/bin/python bench/circle_policy.py   (SQLite in a temp dir; DATABASE_URL to override)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(fn, n: int) -> dict:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"n": n, "median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(n * 0.95) - 1], 3)}


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("HEALTHSPACE_INSTANCE", str(tmp))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    from flask_migrate import upgrade

    from webapp import audit, create_app, policy
    from webapp.accounts import services as accounts
    from webapp.circle import services as circle
    from webapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                      "SECRET_KEY": "bench", "REDIS_URL": None})
    with app.app_context():
        upgrade()
        patient = accounts.create_user(email="p@bench.test", display_name="P", role="patient")
        relative = accounts.create_user(email="r@bench.test", display_name="R", role="relative")
        db.session.commit()
        circle.grant(patient, relative, "messages,agenda", None)
        db.session.commit()
        result = {
            "policy_can_relative": timed(lambda: policy.can(relative, "messages.read", patient),
                                         2000),
            "policy_can_patient_self": timed(
                lambda: policy.can(patient, "messages.read", patient), 2000),
        }
        rows = 50_000
        start = circle.now() - timedelta(days=365)
        db.session.execute(audit.AccessEvent.__table__.insert(), [
            {"at": start + timedelta(minutes=i), "patient_id": patient.id,
             "actor_id": relative.id, "actor_name": "R", "acting_as": "relative",
             "action": "read", "object_type": "message", "object_id": str(i),
             "kind": "messages", "device": "mobile", "emergency": False}
            for i in range(rows)])
        db.session.commit()
        deep = db.session.scalars(
            db.select(audit.AccessEvent).order_by(audit.AccessEvent.at.desc(),
                                                  audit.AccessEvent.id.desc())
            .offset(40_000).limit(1)).one()
        cursor = (deep.at, deep.id)
        result["activity_page_keyset_at_40000"] = timed(
            lambda: audit.history(patient.id, mine=False, before=cursor), 200)
        result["activity_page_offset_at_40000"] = timed(
            lambda: db.session.scalars(
                db.select(audit.AccessEvent).where(audit.AccessEvent.patient_id == patient.id)
                .order_by(audit.AccessEvent.at.desc(), audit.AccessEvent.id.desc())
                .offset(40_000).limit(20)).all(), 50)
        result["history_rows"] = rows
        result["database"] = db.engine.dialect.name
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
