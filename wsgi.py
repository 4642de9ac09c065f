"""The only module a server imports: `gunicorn wsgi:app`."""

from webapp import create_app

app = create_app()
