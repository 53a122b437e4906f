"""`lightning-flows up`: migrate, then run the whole platform in one process tree."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from lightning_flows.core import migrate
from lightning_flows.core.config import get_settings


def up(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the API and UI.")] = None,
) -> None:
    """Migrate the database and start the API/UI, the embedded Prefect server and the worker.

    With PREFECT_API_URL set, that Prefect server is used instead of an embedded one.
    Ctrl-C or SIGTERM stops everything.
    """
    import uvicorn

    from lightning_flows.api.app import create_app
    from lightning_flows.engine.prefect_server import start_prefect_server

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    migrate.upgrade()
    prefect = None
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("Starting the embedded Prefect server...")
        prefect = start_prefect_server(settings.prefect_home, port=settings.prefect_port)
        os.environ.update(prefect.env)
    prefect_ui = os.environ["PREFECT_API_URL"].removesuffix("/api")
    typer.echo(f"Lightning Flows: http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    typer.echo(f"Prefect UI:      {prefect_ui}")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    finally:
        if prefect is not None:
            typer.echo("Stopping the embedded Prefect server...")
            prefect.stop()
