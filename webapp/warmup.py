"""Warm a serving worker up before it takes traffic.

Run once in gunicorn's post_worker_init, before the start-up heap is frozen. Under the gevent
worker, whatever a socket event does for the first time (compile a template or a statement,
load a language's translations) it does while every other socket of the process waits: the
first chat messages after a start took 30 to 50 ms instead of 2 to 4. So every language's
translations and the steps domains register (`step`: the templates and statements of their
socket events) are done here; what they build is then frozen with the rest of the start-up
heap instead of being scanned by every later collection. Page templates are left to their
first request (compiling all of them would hold 2 MB more in every worker).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_babel import force_locale, get_translations

STEPS: list[Callable[[], None]] = []


def step(fn: Callable[[], None]) -> Callable[[], None]:
    """Register something a domain's socket events would otherwise do the first time they
    run (render a template, compile a statement). Runs in a request context; must read
    nothing that matters and write nothing."""
    STEPS.append(fn)
    return fn


def warm_up(app: Flask) -> None:
    # The request context's end removes the database session, as after any request.
    with app.test_request_context("/"):
        for language in app.config["LANGUAGES"]:
            with force_locale(language):
                get_translations()
        for fn in STEPS:
            fn()
