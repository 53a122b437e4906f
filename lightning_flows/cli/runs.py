"""`lightning-flows runs ...`: start a run of a stored workflow, or retry one from a step."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from lightning_flows.core.errors import DomainError

app = typer.Typer(
    help="Start runs of stored workflows (executed by a running worker).", no_args_is_help=True
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg="red", err=True)
    return typer.Exit(code)


def _read_input(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise _fail(f"Cannot read {path}: {exc.strerror}", 2) from exc
    except json.JSONDecodeError as exc:
        raise _fail(
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", 2
        ) from exc


@app.command("create")
def create(
    workflow: Annotated[uuid.UUID, typer.Option(help="The workflow's id.")],
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="A JSON file: the input state.")
    ] = None,
    dataclip: Annotated[uuid.UUID | None, typer.Option(help="Or a saved dataclip's id.")] = None,
    start_job: Annotated[uuid.UUID | None, typer.Option(help="Start at this job.")] = None,
) -> None:
    """Queue a run of WORKFLOW with priority over webhook runs; prints its ids."""
    from lightning_flows.core.db import session_scope
    from lightning_flows.runs.manual import enqueue_manual
    from lightning_flows.workflows.models import Workflow

    body = _read_input(input_file) if input_file else (None if dataclip else {})
    with session_scope() as session:
        wf = session.get(Workflow, workflow)
        if wf is None or wf.deleted_at is not None:
            raise _fail(f"No workflow {workflow}.")
        try:
            enqueued = enqueue_manual(
                session, wf, body=body, dataclip_id=dataclip, start_job_id=start_job
            )
        except DomainError as exc:
            raise _fail(exc.message) from exc
    typer.echo(
        json.dumps({"work_order_id": str(enqueued.work_order.id), "run_id": str(enqueued.run.id)})
    )


@app.command("retry")
def retry(
    run: Annotated[uuid.UUID, typer.Argument(help="The finished run to retry.")],
    step: Annotated[uuid.UUID, typer.Option(help="Start again at this step, with its input.")],
    original: Annotated[
        bool, typer.Option("--original", help="Replay the version the run used, not the latest.")
    ] = False,
) -> None:
    """Start a new run of the same work order from STEP, on the workflow's latest version
    (or, with --original, the version the run used)."""
    from lightning_flows.core.db import session_scope
    from lightning_flows.runs.manual import retry_from_step

    with session_scope() as session:
        try:
            new_run = retry_from_step(
                session, run, step, None, version="original" if original else "latest"
            )
        except DomainError as exc:
            raise _fail(exc.message) from exc
        typer.echo(
            json.dumps({"work_order_id": str(new_run.work_order_id), "run_id": str(new_run.id)})
        )
