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
    _seed_circle()
    from .chat.demo import seed as seed_chat

    seed_chat()
    from .agenda.demo import seed as seed_agenda

    seed_agenda()
    return created


def _seed_circle() -> None:
    """Jeanne's circle: Claire (her daughter) with every scope, Nadia (nurse) and Dr Lefèvre
    (GP). Grants that already exist are left as they are (the demo may have changed them)."""
    from .circle import services as circle

    def by_email(name: str) -> User | None:
        return db.session.scalar(
            db.select(User).filter_by(email=f"{name}@demo.healthspace.test"))

    jeanne = by_email("jeanne")
    if jeanne is None:
        return
    for name, scopes in (("claire", "messages,agenda,documents,summary"),
                         ("nadia", "messages,agenda,documents,summary"),
                         ("dr.lefevre", "messages,agenda,documents,summary")):
        grantee = by_email(name)
        if grantee is not None and circle.grant_between(jeanne.id, grantee.id) is None:
            circle.grant(jeanne, grantee, scopes, None)
    db.session.commit()
