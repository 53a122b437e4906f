"""`lightning-flows db ...`: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from lightning_flows.core.config import get_settings

app = typer.Typer(help="Manage the platform database.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    lock_timeout: Annotated[
        float,
        typer.Option(
            "--lock-timeout",
            min=0.05,
            help="PostgreSQL: longest wait for a table lock (seconds) before a migration "
            "steps back and is retried, so live traffic never queues behind it for longer.",
        ),
    ] = 1.0,
) -> None:
    """Apply every pending migration to the configured database.

    Safe while the platform runs: one migration per transaction, one migrator at a time,
    indexes on busy tables built concurrently (docs/operations.md).
    """
    from lightning_flows.core import migrate

    def retrying(attempt: int, reason: str) -> None:
        typer.echo(f"A migration waited over {lock_timeout:g}s for a lock ({reason}); retrying.")

    migrate.upgrade(lock_timeout=lock_timeout, on_retry=retrying)
    typer.echo(f"Database is up to date ({_display(get_settings().resolved_database_url)}).")


def _display(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
