import click
from flask import Blueprint

bp = Blueprint("circle", __name__, url_prefix="/circle")

from . import activity, export, home, routes  # noqa: E402,F401
from .services import grants as _grants  # noqa: E402

_grants.connect_signals()


@bp.cli.command("sweep")
@click.option("--loop", is_flag=True, help="Keep sweeping, one pass every --interval seconds.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between passes.")
def sweep_command(loop: bool, interval: float) -> None:
    """Tell listeners about grants and emergency accesses whose end has passed: policy already
    refuses them; this cuts live sockets too. Run it with --loop in one process of the site
    (or every minute from cron or a timer)."""
    from flask import current_app

    from . import sweeper
    from .services import sweep_expired

    if not loop:
        click.echo(f"{sweep_expired()} ended access(es) signalled")
        return
    try:
        sweeper.run_forever(current_app._get_current_object(), interval=max(1.0, interval))
    except KeyboardInterrupt:
        pass
