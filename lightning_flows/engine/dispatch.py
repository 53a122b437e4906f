"""Handing runs to Prefect: one flow run of the workflow's deployment per run.

Idempotent: the Prefect idempotency key is the run id, so a run handed over
twice (a retry after a crash between create and save) still has one flow run.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import col

from lightning_flows.core.db import session_scope
from lightning_flows.engine.deployments import sync_deployment
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.workflows.models import Workflow


def ensure_flow_run(run_id: uuid.UUID) -> uuid.UUID:
    """The Prefect flow run of `run_id`, created (from its workflow's deployment) if missing."""
    from lightning_flows.engine.prefect_api import prefect_client

    with session_scope() as session:
        run = session.get(Run, run_id)
        assert run is not None  # noqa: S101
        if run.prefect_flow_run_id is not None:
            return run.prefect_flow_run_id
        work_order = session.get(WorkOrder, run.work_order_id)
        assert work_order is not None  # noqa: S101
        workflow = session.get(Workflow, work_order.workflow_id)
        assert workflow is not None  # noqa: S101
        deployment_id = workflow.prefect_deployment_id
        names = (workflow.name, work_order.id, workflow.project_id, workflow.id)
    if deployment_id is None:
        deployment_id = sync_deployment(names[3])
        assert deployment_id is not None  # noqa: S101
    name, work_order_id, project_id, workflow_id = names
    flow_run = prefect_client().create_flow_run_from_deployment(
        deployment_id,
        parameters={"run_id": str(run_id), "workflow_id": str(workflow_id)},
        name=f"{name} · {str(work_order_id)[:8]}",
        tags=[f"project:{project_id}", f"workflow:{workflow_id}", f"work_order:{work_order_id}"],
        idempotency_key=str(run_id),
    )
    with session_scope() as session:
        session.execute(
            update(Run)
            .where(col(Run.id) == run_id, col(Run.prefect_flow_run_id).is_(None))
            .values(prefect_flow_run_id=flow_run.id)
        )
    return flow_run.id
