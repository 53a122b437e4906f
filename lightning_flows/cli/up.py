"""`lightning-flows up`: migrate, then run the whole platform in one process tree."""

from __future__ import annotations

import os
import threading
from typing import Annotated

import typer

from lightning_flows.core.config import get_settings


def up(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the API and UI.")] = None,
    worker: Annotated[bool, typer.Option(help="Also execute runs in this process.")] = True,
) -> None:
    """Migrate the database and start the API/UI, the embedded Prefect server and the worker.

    With PREFECT_API_URL set, that Prefect server is used instead of an embedded one.
    Ctrl-C or SIGTERM stops everything (runs in progress finish first).
    """
    import uvicorn

    from lightning_flows.core import migrate
    from lightning_flows.engine.prefect_server import start_prefect_server

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    migrate.upgrade()
    _refuse_wrong_encryption_key()
    prefect = None
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("Starting the embedded Prefect server...")
        prefect = start_prefect_server(settings.prefect_home, port=settings.prefect_port)
        os.environ.update(prefect.env)
    # Prefect reads its settings when first imported: only now that the URL is known.
    from lightning_flows.api.app import create_app
    from lightning_flows.engine.worker import Worker

    runner = Worker(settings.worker_concurrency) if worker else None
    thread = threading.Thread(target=runner.serve, daemon=True) if runner else None
    if thread:
        thread.start()
    typer.echo(f"Lightning Flows: http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    typer.echo(f"Prefect UI:      {os.environ['PREFECT_API_URL'].removesuffix('/api')}")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    finally:
        if runner and thread:
            typer.echo("Stopping the worker...")
            runner.stop()
            thread.join(timeout=60)
        if prefect is not None:
            typer.echo("Stopping the embedded Prefect server...")
            prefect.stop()


def _refuse_wrong_encryption_key() -> None:
    """Stop with a clear message when stored secrets need a key that is not configured."""
    from lightning_flows.core import keys
    from lightning_flows.core.crypto import get_cipher
    from lightning_flows.core.db import get_engine
    from lightning_flows.core.errors import ConfigurationError

    try:
        keys.check_keys(get_engine(), get_cipher())
    except ConfigurationError as exc:
        typer.secho(f"Refusing to start: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
