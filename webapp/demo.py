"""Demo data. Domains extend `seed_demo` with their own sample data, idempotently."""

from __future__ import annotations

from .accounts import services as accounts
from .accounts.models import User
from .extensions import db


def seed_demo(accounts_spec: list[dict]) -> set[str]:
    created: set[str] = set()
    for spec in accounts_spec:
        if db.session.scalar(db.select(User).filter_by(email=spec["email"])) is None:
            accounts.create_user(**spec)
            created.add(spec["email"])
    db.session.commit()
    return created
