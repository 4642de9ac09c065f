"""Versioned static URLs: `asset('css/app.css')` → /static/css/app.css?v=<content hash>.

Static files are served with a one-year cache lifetime; the hash in the URL changes when the
content does, so browsers never keep a stale copy.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, url_for


@lru_cache(maxsize=256)
def _digest(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def version_of(filename: str) -> str:
    path = Path(current_app.static_folder) / filename
    try:
        return _digest(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        return "missing"


def asset(filename: str) -> str:
    return url_for("static", filename=filename, v=version_of(filename))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["asset"] = asset
