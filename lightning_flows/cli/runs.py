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


FILTER_KEYS = (
    "status",
    "workflow_id",
    "since",
    "until",
    "last_activity_since",
    "last_activity_until",
    "search",
)


@app.command("retry")
def retry(
    run: Annotated[
        uuid.UUID | None, typer.Argument(help="A finished run to retry from --step.")
    ] = None,
    step: Annotated[
        uuid.UUID | None, typer.Option(help="Start again at this step, with its input.")
    ] = None,
    original: Annotated[
        bool, typer.Option("--original", help="Replay the version the run used, not the latest.")
    ] = False,
    project: Annotated[
        uuid.UUID | None, typer.Option(help="Bulk retry: the project whose work orders to retry.")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="Bulk retry: KEY=VALUE, the history list's filters (status, workflow_id, "
            "since, until, last_activity_since, last_activity_until, search); repeat "
            "status for several.",
        ),
    ] = None,
    work_orders: Annotated[
        list[uuid.UUID] | None,
        typer.Option("--work-order", help="Bulk retry: these work orders (repeat)."),
    ] = None,
    start_from: Annotated[
        str, typer.Option("--from", help='Bulk retry: "start", or the id of the job to start at.')
    ] = "start",
    request_id: Annotated[
        str | None, typer.Option(help="Bulk retry: the same id again answers the same batch.")
    ] = None,
) -> None:
    """Retry RUN from --step, or (with --project and --filter or --work-order) many work
    orders at once, each on its workflow's latest version.

    A bulk retry queues the work orders in chunks and prints the batch's progress as JSON:
    work orders whose last run has not finished, whose input was wiped or that are still
    waiting in another batch are skipped and counted by reason.
    """
    if project is not None or filters or work_orders:
        _bulk_retry(project, filters or [], work_orders or [], start_from, request_id)
        return
    if run is None or step is None:
        raise _fail("Give RUN and --step, or --project with --filter/--work-order.", 2)
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


def _parse_filters(pairs: list[str]) -> dict[str, Any]:
    selection: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise _fail(
                f"--filter {pair!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}.", 2
            )
        if key == "status":
            selection.setdefault("status", []).append(value)
        else:
            selection[key] = value
    return selection


def _bulk_retry(
    project: uuid.UUID | None,
    filters: list[str],
    work_orders: list[uuid.UUID],
    start_from: str,
    request_id: str | None,
) -> None:
    from pydantic import ValidationError

    from lightning_flows.core.db import session_scope
    from lightning_flows.projects.models import Project
    from lightning_flows.runs import bulk_queue, bulk_retry
    from lightning_flows.runs.bulk_schemas import BulkRetryRequest

    if project is None:
        raise _fail("A bulk retry needs --project.", 2)
    if bool(filters) == bool(work_orders):
        raise _fail("Give --filter (one or more) or --work-order (one or more), not both.", 2)
    body: dict[str, Any] = {"from": start_from, "request_id": request_id}
    if filters:
        body["filter"] = _parse_filters(filters)
    else:
        body["work_order_ids"] = [str(w) for w in work_orders]
    try:
        request = BulkRetryRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise _fail(problems, 2) from exc
    with session_scope() as session:
        if session.get(Project, project) is None:
            raise _fail(f"No project {project}.")
        try:
            batch = bulk_retry.submit(session, project, request, user_id=None)
        except DomainError as exc:
            raise _fail(exc.message) from exc
        batch_id = batch.id
    bulk_queue.process(batch_id)
    with session_scope() as session:
        batch = bulk_retry.get_batch(session, project, batch_id)
        typer.echo(bulk_retry.progress(session, batch).model_dump_json())
