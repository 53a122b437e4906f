"""`lightning-flows db ...`: database migrations."""

from __future__ import annotations

import typer

from lightning_flows.core.config import get_settings

app = typer.Typer(help="Manage the platform database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from lightning_flows.core import migrate

    migrate.upgrade()
    typer.echo(f"Database is up to date ({_display(get_settings().resolved_database_url)}).")


def _display(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
