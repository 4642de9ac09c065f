"""Command-line entry points: `flask demo seed` and the commands domains add."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

demo = AppGroup("demo", help="Demo accounts for trying every role.")

# One password per demo account, printed by `flask demo seed` and listed in the README.
DEMO_ACCOUNTS = [
    dict(email="jeanne@demo.healthspace.test", display_name="Jeanne Martin", role="patient",
         password="jeanne-demo-2026", city="Lyon"),
    dict(email="claire@demo.healthspace.test", display_name="Claire Martin", role="relative",
         password="claire-demo-2026", city="Lyon"),
    dict(email="nadia@demo.healthspace.test", display_name="Nadia Benali", role="professional",
         profession="nurse", rpps="10101010101", password="nadia-demo-2026", city="Lyon"),
    dict(email="dr.lefevre@demo.healthspace.test", display_name="Dr Paul Lefèvre",
         role="professional", profession="general_practitioner", rpps="20202020202",
         password="paul-demo-2026", city="Lyon"),
    dict(email="admin@demo.healthspace.test", display_name="Admin", role="admin",
         password="admin-demo-2026"),
]


@demo.command("seed")
def seed() -> None:
    """Create the demo accounts (idempotent). Refused in production."""
    from .demo import seed_demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("Demo data is refused when HEALTHSPACE_ENV=production.")
    created = seed_demo(DEMO_ACCOUNTS)
    click.echo("Demo accounts (email / password):")
    for account in DEMO_ACCOUNTS:
        mark = "new" if account["email"] in created else "kept"
        role, email, password = account["role"], account["email"], account["password"]
        click.echo(f"  {role:<13} {email:<36} {password}  ({mark})")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    from .crypto import cli_group as keys_cli

    app.cli.add_command(keys_cli())
    from .agenda.worker import reminders_cli

    app.cli.add_command(reminders_cli)
