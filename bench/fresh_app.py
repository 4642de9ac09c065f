"""A fresh, migrated app for the in-process benchmarks (bench/chat_history.py, bench/export.py).

The instance folder is new for each run; the database is a SQLite file there, or DATABASE_URL's
(an empty PostgreSQL database). Environment first: the app reads it when it is imported.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def migrated_app(prefix: str):
    """(app, database URL), the schema built through the migrations, CSRF and rate limits off."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["HEALTHSPACE_INSTANCE"] = str(tmp)
    os.environ.setdefault("HEALTHSPACE_ENV", "test")
    os.environ["RATELIMIT_ENABLED"] = "0"
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"

    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "INSTANCE_DIR": str(tmp), "TESTING": True})
    with app.app_context():
        upgrade()
    return app, url
