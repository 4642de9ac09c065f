"""Failed password tries, counted per account AND per IP in Flask-Limiter's storage.

Only failures count, so people who type their password right are never slowed down (and a
browser test suite signing in many times from one address is not either). The storage is
Flask-Limiter's (memory by default, Redis when REDIS_URL is set, shared by every process).
"""

from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from ..extensions import limiter


def _limit():
    return parse(current_app.config.get("PASSWORD_TRIES", "5 per minute"))


def _keys(scope: str, account: str) -> list[tuple[str, ...]]:
    return [(scope, "ip", get_remote_address() or "-"), (scope, "account", account or "-")]


def blocked(scope: str, account: str) -> bool:
    """True when this account or this address has used up its tries for now."""
    if not limiter.enabled:
        return False
    item = _limit()
    return any(not limiter.limiter.test(item, *key) for key in _keys(scope, account))


def record_failure(scope: str, account: str) -> None:
    if not limiter.enabled:
        return
    item = _limit()
    for key in _keys(scope, account):
        limiter.limiter.hit(item, *key)
