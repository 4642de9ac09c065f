"""Builders for test data. Every user gets the same password; its hash is computed once."""

from __future__ import annotations

import itertools
from functools import lru_cache

from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.extensions import db

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    from webapp.accounts.services.passwords import hasher

    return hasher().hash(PASSWORD)


def user(role: str = "patient", **fields) -> User:
    n = next(_counter)
    defaults = {
        "email": f"{role}{n}@example.test",
        "display_name": f"{role.title()} {n}",
        "role": role,
    }
    if role == "professional":
        defaults.update(profession="Nurse", rpps=f"{n:011d}", city="Lyon")
    defaults.update(fields)
    created = accounts.create_user(**defaults)
    created.password_hash = _password_hash()
    db.session.commit()
    return created
