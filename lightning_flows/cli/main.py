"""The `lightning-flows` console script."""

from __future__ import annotations

from typing import Annotated

import typer

from lightning_flows.cli import credentials as credential_commands
from lightning_flows.cli import db as db_commands
from lightning_flows.cli import deploy as deploy_commands
from lightning_flows.cli import run as run_command
from lightning_flows.cli import runs as runs_commands
from lightning_flows.cli import up as up_command
from lightning_flows.cli import users as user_commands
from lightning_flows.cli import worker as worker_command
from lightning_flows.cli import workflow_tests as test_command

app = typer.Typer(
    help="Lightning Flows: run OpenFn jobs and workflows on Prefect.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(runs_commands.app, name="runs")
app.add_typer(user_commands.users_app, name="users")
app.add_typer(user_commands.tokens_app, name="tokens")
app.add_typer(credential_commands.app, name="credentials")
app.command("up")(up_command.up)
app.command("run")(run_command.run)
app.command("worker")(worker_command.worker)
app.command("deploy")(deploy_commands.deploy)
app.command("pull")(deploy_commands.pull)
app.command("test")(test_command.test)
app.add_typer(deploy_commands.sync_app, name="sync")


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Configuration comes from LIGHTNING_* environment variables (see README)."""
    if version:
        from lightning_flows import __version__

        typer.echo(__version__)
        raise typer.Exit()
