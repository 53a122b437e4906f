"""`lightning-flows worker`: execute runs in this process."""

from __future__ import annotations

import os
import signal
from typing import Annotated

import typer

from lightning_flows.core.config import get_settings


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Runs executed at once (default LIGHTNING_WORKER_CONCURRENCY)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Shown on claimed runs.")] = None,
) -> None:
    """Execute runs as Prefect flow runs, picking new ones up within ~50 ms.

    Needs PREFECT_API_URL (set by `lightning-flows up`, or your own Prefect server).
    Stops after finishing the runs in progress on Ctrl-C or SIGTERM.
    """
    if not os.environ.get("PREFECT_API_URL"):
        typer.secho(
            "PREFECT_API_URL is not set: start the platform with `lightning-flows up`, "
            "or point PREFECT_API_URL at your Prefect server.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    from lightning_flows.engine.worker import Worker

    w = Worker(concurrency or get_settings().worker_concurrency, name=name)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: w.stop())
    typer.echo(f"Worker {w.name} serving with concurrency {w.concurrency}. Ctrl-C to stop.")
    w.serve()
    typer.echo("Worker stopped.")
