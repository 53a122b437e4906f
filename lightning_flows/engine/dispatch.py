"""Handing claimed runs to Prefect: one flow run of the workflow's deployment per run.

The worker claims runs first, then creates their flow runs already `Running`
(one bulk request per deployment), named after the workflow and work order and
tagged with project, workflow and work order. Idempotent: the Prefect
idempotency key is the run id, so a run handed over twice still has one flow run.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass

from prefect.client.schemas.objects import StateType
from sqlalchemy import bindparam, update
from sqlmodel import col

from lightning_flows.core.db import session_scope
from lightning_flows.engine.deployments import sync_deployment
from lightning_flows.engine.prefect_api import prefect_client
from lightning_flows.runs.models import Run
from lightning_flows.runs.queue import ClaimedRun

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


def create_flow_runs(
    claimed: list[ClaimedRun],
) -> tuple[dict[uuid.UUID, FlowRunRef], list[uuid.UUID]]:
    """A Running flow run for each claimed run: (run id -> flow run, run ids Prefect did
    not take, which the caller gives back). Never raises for Prefect being down."""
    by_deployment: dict[uuid.UUID, list[ClaimedRun]] = defaultdict(list)
    created: dict[uuid.UUID, FlowRunRef] = {}
    failed: list[uuid.UUID] = []
    for item in claimed:
        try:
            deployment_id = item.deployment_id or sync_deployment(item.workflow_id)
        except Exception:
            log.warning("no Prefect deployment for workflow %s", item.workflow_id, exc_info=True)
            deployment_id = None
        if deployment_id is None:
            failed.append(item.run_id)
        else:
            by_deployment[deployment_id].append(item)
    for deployment_id, items in by_deployment.items():
        try:
            made = _create_for_deployment(deployment_id, items)
            created.update(made)
            failed += [item.run_id for item in items if item.run_id not in made]
        except Exception:
            log.warning("Prefect did not create %d flow run(s)", len(items), exc_info=True)
            failed += [item.run_id for item in items]
    _remember(created)
    return created, failed


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
    out: dict[uuid.UUID, FlowRunRef] = {}
    for (run_id, ref), result in zip(refs.items(), results, strict=True):
        if result.get("status") != "CREATED" or not result.get("flow_run_id"):
            log.warning("Prefect refused a flow run for run %s: %s", run_id, result)
            continue
        out[run_id] = FlowRunRef(
            uuid.UUID(result["flow_run_id"]), ref.name, ref.tags, ref.parameters, ref.start
        )
    return out


def _remember(created: dict[uuid.UUID, FlowRunRef]) -> None:
    """Store each run's flow run id (deep links; the lost-run sweep marks it Crashed)."""
    if not created:
        return
    with session_scope() as session:
        session.connection().execute(
            update(Run)
            .where(col(Run.id) == bindparam("run_id"), col(Run.prefect_flow_run_id).is_(None))
            .values(prefect_flow_run_id=bindparam("flow_run_id")),
            [{"run_id": k, "flow_run_id": v.id} for k, v in created.items()],
        )
