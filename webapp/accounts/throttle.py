"""Failed password tries, counted per account AND per address in Flask-Limiter's storage.

Only failures count, so people who type their password right are never slowed down (and a
browser test suite signing in many times from one address is not either). An account allows
few tries (PASSWORD_TRIES); an address allows more (PASSWORD_TRIES_PER_ADDRESS), because a
care home or a hospital ward signs everyone in from one address: a few staff mistyping must
not lock out the whole building, while one address trying many accounts is still slowed.
The storage is Flask-Limiter's (memory by default, Redis when REDIS_URL is set, shared by
every process).
"""

from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from ..extensions import limiter


def _counters(scope: str, account: str) -> list[tuple]:
    """(limit, key…) for the address and for the account."""
    config = current_app.config
    return [
        (parse(config["PASSWORD_TRIES_PER_ADDRESS"]), scope, "ip", get_remote_address() or "-"),
        (parse(config["PASSWORD_TRIES"]), scope, "account", account or "-"),
    ]


def blocked(scope: str, account: str) -> bool:
    """True when this account or this address has used up its tries for now."""
    if not limiter.enabled:
        return False
    return any(not limiter.limiter.test(*counter) for counter in _counters(scope, account))


def record_failure(scope: str, account: str) -> None:
    if not limiter.enabled:
        return
    for counter in _counters(scope, account):
        limiter.limiter.hit(*counter)
