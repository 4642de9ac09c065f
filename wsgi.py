"""The only module a server imports: `gunicorn wsgi:app`."""

import click

from webapp import create_app

# The flask command (FLASK_APP=wsgi:app: migrations, seeding) loads this module too, inside
# its click context; a server process never migrates and is spared loading Alembic.
app = create_app({"MIGRATIONS": click.get_current_context(silent=True) is not None})
