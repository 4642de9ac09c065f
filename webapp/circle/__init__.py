from flask import Blueprint

bp = Blueprint("circle", __name__, url_prefix="/circle")

from . import routes  # noqa: E402,F401


@bp.cli.command("sweep")
def sweep_command() -> None:
    """Tell listeners about grants and emergency accesses whose end has passed (run it every
    minute from cron or a timer: policy already refuses them; this cuts live sockets too)."""
    import click

    from .services import sweep_expired

    click.echo(f"{sweep_expired()} ended access(es) signalled")
