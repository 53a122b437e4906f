"""Handing claimed runs to Prefect: one flow run of the workflow's deployment per run.

The worker claims runs first, then creates their flow runs already `Running`
(one bulk request per deployment), named after the workflow and work order and
tagged with project, workflow and work order. Idempotent: the Prefect
idempotency key is the run id, so a run handed over twice still has one flow run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

import httpx
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound
from sqlmodel import col, select

from lightning_flows.core.db import session_scope
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import ensure_deployment
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.queue import ClaimedRun
from lightning_flows.runs.service import link_flow_runs
from lightning_flows.workflows.models import Workflow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowRunRef:
    """What the worker needs of a flow run to drive it."""

    id: uuid.UUID
    name: str
    tags: list[str]
    parameters: dict[str, object]
    start: str = "running"
    """`running`: created Running by the dispatch; `force`: an existing flow run of a run
    this worker claimed (forced to Running); `take`: started in Prefect (schedule, UI),
    taken through orchestration, Pending then Running, so only one worker wins."""


def flow_run_name(workflow_name: str, work_order_id: uuid.UUID) -> str:
    return f"{workflow_name} · {str(work_order_id)[:8]}"


def name_like_webhook_runs(
    flow_run_id: uuid.UUID, run_id: uuid.UUID, tags: list[str]
) -> tuple[str, list[str]] | None:
    """Give a flow run Prefect started (a cron schedule, the UI's "Run") the name and
    tags of a webhook run's flow run, once its run exists: (name, tags), or None when
    Prefect could not be told (the run goes on under Prefect's generated name)."""
    with session_scope() as session:
        row = session.exec(
            select(WorkOrder.id, WorkOrder.project_id, Workflow.id, Workflow.name)
            .join(Run, col(Run.work_order_id) == col(WorkOrder.id))
            .join(Workflow, col(Workflow.id) == col(WorkOrder.workflow_id))
            .where(col(Run.id) == run_id)
        ).first()
    if row is None:
        return None
    work_order_id, project_id, workflow_id, workflow_name = row
    name = flow_run_name(workflow_name, work_order_id)
    ours = [f"project:{project_id}", f"workflow:{workflow_id}", f"work_order:{work_order_id}"]
    merged = list(dict.fromkeys([*tags, *ours]))
    try:
        prefect_client().update_flow_run(flow_run_id, name=name, tags=merged)
    except Exception:
        log.warning("could not rename flow run %s", flow_run_id, exc_info=True)
        return None
    return name, merged


def create_flow_runs(
    claimed: list[ClaimedRun],
) -> tuple[dict[uuid.UUID, FlowRunRef], list[uuid.UUID]]:
    """A Running flow run for each claimed run: (run id -> flow run, run ids Prefect did
    not take, which the caller gives back). Never raises for Prefect being down.

    A workflow without a deployment id, or whose deployment Prefect does not know
    (deleted by hand, a new or reset Prefect database: 404), gets its deployment
    made again from the workflow (`ensure_deployment`), and its runs are sent once
    more. Nothing here holds a database transaction while calling Prefect."""
    by_deployment: dict[uuid.UUID, list[ClaimedRun]] = defaultdict(list)
    created: dict[uuid.UUID, FlowRunRef] = {}
    failed: list[uuid.UUID] = []
    healed: dict[uuid.UUID, uuid.UUID | None] = {}
    for item in claimed:
        deployment_id = item.deployment_id or _heal_deployment(item.workflow_id, healed)
        if deployment_id is None:
            failed.append(item.run_id)
        else:
            by_deployment[deployment_id].append(item)
    for deployment_id, items in by_deployment.items():
        try:
            made = _create_for_deployment(deployment_id, items)
        except Exception as exc:
            if not _deployment_missing(exc):
                log.warning("Prefect did not create %d flow run(s)", len(items), exc_info=True)
                failed += [item.run_id for item in items]
                continue
            log.warning("Prefect has no deployment %s; creating it again", deployment_id)
            made = _retry_on_new_deployments(items, healed)
        created.update(made)
        failed += [item.run_id for item in items if item.run_id not in made]
    _remember(created)
    return created, failed


def _heal_deployment(
    workflow_id: uuid.UUID, healed: dict[uuid.UUID, uuid.UUID | None], *, refresh: bool = False
) -> uuid.UUID | None:
    """The workflow's deployment, (re)created in Prefect at most once per dispatch; None
    when Prefect cannot be reached (the runs wait and are handed over later)."""
    if workflow_id not in healed:
        try:
            healed[workflow_id] = ensure_deployment(workflow_id, refresh=refresh)
        except Exception:
            log.warning("no Prefect deployment for workflow %s", workflow_id, exc_info=True)
            healed[workflow_id] = None
    return healed[workflow_id]


def _retry_on_new_deployments(
    items: list[ClaimedRun], healed: dict[uuid.UUID, uuid.UUID | None]
) -> dict[uuid.UUID, FlowRunRef]:
    """Send runs whose deployment was missing once more, on the recreated deployments."""
    by_new: dict[uuid.UUID, list[ClaimedRun]] = defaultdict(list)
    for item in items:
        new_id = _heal_deployment(item.workflow_id, healed, refresh=True)
        if new_id is not None:
            by_new[new_id].append(item)
    made: dict[uuid.UUID, FlowRunRef] = {}
    for new_id, group in by_new.items():
        try:
            made.update(_create_for_deployment(new_id, group))
        except Exception:
            log.warning("Prefect did not create %d flow run(s)", len(group), exc_info=True)
    return made


def _deployment_missing(exc: Exception) -> bool:
    """Prefect answered 404: it does not know the deployment."""
    if isinstance(exc, ObjectNotFound):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 404


def _create_for_deployment(
    deployment_id: uuid.UUID, items: list[ClaimedRun]
) -> dict[uuid.UUID, FlowRunRef]:
    refs = {
        item.run_id: FlowRunRef(
            id=uuid.UUID(int=0),
            name=flow_run_name(item.workflow_name, item.work_order_id),
            tags=[
                f"project:{item.project_id}",
                f"workflow:{item.workflow_id}",
                f"work_order:{item.work_order_id}",
            ],
            parameters={"run_id": str(item.run_id), "workflow_id": str(item.workflow_id)},
            start="running" if item.prefect_flow_run_id is None else "force",
        )
        for item in items
    }
    out: dict[uuid.UUID, FlowRunRef] = {}
    for pause in (*_BUSY_RETRIES, None):
        refused = _bulk_create(deployment_id, refs, out)
        if not refused or pause is None:
            break
        # A SQLite-backed Prefect server refuses a write that raced another one
        # ("database is locked"): the same request a moment later goes through.
        time.sleep(pause)
        refs = {run_id: refs[run_id] for run_id in refused}
    return out


_BUSY_RETRIES = (0.1, 0.25, 0.5, 1.0)


def _bulk_create(
    deployment_id: uuid.UUID, refs: dict[uuid.UUID, FlowRunRef], out: dict[uuid.UUID, FlowRunRef]
) -> list[uuid.UUID]:
    """One bulk request; adds the created flow runs to `out`, returns the runs Prefect
    refused for a transient reason (worth sending again)."""
    state = {"type": StateType.RUNNING.value, "name": "Running"}
    body = [
        {
            "name": ref.name,
            "parameters": ref.parameters,
            "tags": ref.tags,
            "idempotency_key": str(run_id),
            **({"state": state} if ref.start == "running" else {}),
        }
        for run_id, ref in refs.items()
    ]
    response = prefect_client().request(
        "POST",
        "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]
        path_params={"id": deployment_id},
        json=body,
    )
    response.raise_for_status()
    results = response.json()["results"]
    transient: list[uuid.UUID] = []
    for (run_id, ref), result in zip(refs.items(), results, strict=True):
        if result.get("status") != "CREATED" or not result.get("flow_run_id"):
            error = str(result.get("error") or result.get("status"))
            if "locked" in error or "busy" in error:
                transient.append(run_id)
            else:
                log.warning("Prefect refused a flow run for run %s: %s", run_id, error[:300])
            continue
        out[run_id] = FlowRunRef(
            uuid.UUID(result["flow_run_id"]), ref.name, ref.tags, ref.parameters, ref.start
        )
    if transient:
        log.info("Prefect's database was busy for %d flow run(s); sending again", len(transient))
    return transient


def _remember(created: dict[uuid.UUID, FlowRunRef]) -> None:
    """Store each run's flow run id (deep links; the lost-run sweep marks it Crashed)."""
    if created:
        with session_scope() as session:
            link_flow_runs(session, {run_id: ref.id for run_id, ref in created.items()})
