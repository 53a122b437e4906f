"""`lightning-flows up`: migrate, then run the whole platform in one process tree."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from lightning_flows.core.config import get_settings


def up(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the API and UI.")] = None,
    worker: Annotated[bool, typer.Option(help="Also execute runs in this process.")] = True,
) -> None:
    """Migrate the database and start the API/UI, the embedded Prefect server and the worker.

    With PREFECT_API_URL set, that Prefect server is used instead of an embedded one.
    Ctrl-C or SIGTERM stops everything: no new runs are claimed, runs in progress get
    LIGHTNING_SHUTDOWN_GRACE_SECONDS to finish, the rest are handed back. One `up` per
    data directory: a second one exits with code 2.
    """
    from lightning_flows.cli.lifecycle import (
        Interrupted,
        StopSignals,
        WorkerStop,
        close_node_pool,
        exit_now_if_threads_linger,
        flush_prefect_clients,
        shutdown_grace,
    )
    from lightning_flows.core import instance_lock, migrate
    from lightning_flows.engine.prefect.server import PrefectServer, start_prefect_server

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    try:
        lock = instance_lock.acquire(settings.data_dir.resolve())
    except instance_lock.AlreadyRunning as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    lock.record(f"http://{host}:{port}")
    signals = StopSignals().install()
    prefect: PrefectServer | None = None
    thread: threading.Thread | None = None
    stopping: WorkerStop | None = None
    stopped_in_time = True
    try:
        migrate.upgrade()
        _refuse_wrong_encryption_key()
        if not os.environ.get("PREFECT_API_URL"):
            typer.echo("Starting the embedded Prefect server...")
            prefect = start_prefect_server(
                settings.prefect_home, port=settings.prefect_port, pass_fds=(lock.fd,)
            )
            os.environ.update(prefect.env)
        # Prefect reads its settings when first imported: only now that the URL is known.
        from lightning_flows.api.app import create_app
        from lightning_flows.engine.worker import Worker

        runner = Worker(settings.worker_concurrency) if worker else None
        thread = (
            threading.Thread(target=runner.serve, name="worker", daemon=True) if runner else None
        )
        stopping = WorkerStop(runner, thread, shutdown_grace()) if runner else None
        server = _server(create_app(), host, port)
        # From here a signal asks uvicorn to return and the worker to drain, both at once.
        signals.on_signal.append(lambda: setattr(server, "should_exit", True))
        if stopping:
            signals.on_signal.append(stopping.begin)
            server.on_exit.append(stopping.begin)
        signals.interrupting = False
        if signals.event.is_set():
            return
        if thread:
            thread.start()
        typer.echo(f"Lightning Flows: http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
        typer.echo(f"Prefect UI:      {os.environ['PREFECT_API_URL'].removesuffix('/api')}")
        server.run()
        if not server.started and not signals.event.is_set():
            raise typer.Exit(1)  # uvicorn logged why (e.g. the port is taken)
    except Interrupted:
        pass
    finally:
        signals.interrupting = False
        if signals.event.is_set():
            typer.echo(f"{signals.name} received: stopping.")
        if stopping is not None and thread is not None and thread.is_alive():
            typer.echo(f"Stopping the worker (runs in progress get {stopping.grace:g} s)...")
            stopped_in_time = stopping.finish()
        close_node_pool()
        if prefect is not None:
            flush_prefect_clients()
            typer.echo("Stopping the embedded Prefect server...")
            prefect.stop(timeout=2)
        lock.release()
    if not stopped_in_time:
        # Their runs are handed back or taken over by live workers.
        typer.echo("Some runs did not stop in time; exiting anyway.", err=True)
    if stopping is not None and stopping.began_at is not None:
        typer.echo(f"Stopped in {time.monotonic() - stopping.began_at:.1f} s.")
    else:
        typer.echo("Stopped.")
    exit_now_if_threads_linger(0 if stopped_in_time else 1)


def _server(app: Any, host: str, port: int) -> Any:
    """uvicorn's server, calling its `on_exit` callbacks as soon as it receives
    SIGTERM/SIGINT (uvicorn handles those signals while it serves)."""
    import uvicorn

    class Server(uvicorn.Server):
        on_exit: list[Callable[[], None]]

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            for callback in self.on_exit:
                callback()

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    server.on_exit = []
    return server


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
