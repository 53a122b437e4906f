"""`lightning-flows worker`: execute runs in this process."""

from __future__ import annotations

import os
import threading
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
    Ctrl-C or SIGTERM stops it: no new runs are claimed, runs in progress get
    LIGHTNING_SHUTDOWN_GRACE_SECONDS to finish, the rest are handed back.
    """
    if not os.environ.get("PREFECT_API_URL"):
        typer.secho(
            "PREFECT_API_URL is not set: start the platform with `lightning-flows up`, "
            "or point PREFECT_API_URL at your Prefect server.",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    from lightning_flows.cli.lifecycle import (
        StopSignals,
        WorkerStop,
        close_node_pool,
        exit_now_if_threads_linger,
        shutdown_grace,
    )
    from lightning_flows.engine.worker import Worker

    signals = StopSignals()
    signals.interrupting = False
    signals.install()
    w = Worker(concurrency or get_settings().worker_concurrency, name=name)
    thread = threading.Thread(target=w.serve, name="worker", daemon=True)
    stopping = WorkerStop(w, thread, shutdown_grace())
    signals.on_signal.append(stopping.begin)  # the drain starts in the signal handler
    thread.start()
    typer.echo(f"Worker {w.name} serving with concurrency {w.concurrency}. Ctrl-C to stop.")
    while not signals.event.wait(1.0) and thread.is_alive():
        pass
    reason = f"{signals.name} received" if signals.event.is_set() else "The worker ended"
    typer.echo(f"{reason}: stopping (runs in progress get {stopping.grace:g} s)...")
    stopped_in_time = stopping.finish()
    close_node_pool()
    if not stopped_in_time:
        typer.echo("Some runs did not stop in time; exiting anyway.", err=True)
    typer.echo("Worker stopped.")
    exit_now_if_threads_linger(0 if stopped_in_time else 1)
