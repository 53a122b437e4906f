"""Starting runs by hand: `POST /api/workflows/{id}/runs`, `POST /api/runs/{id}/retry`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.errors import NotFound
from lightning_flows.runs import manual
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.workflows.models import Workflow

router = APIRouter(tags=["runs"])


class ManualRunRequest(BaseModel):
    body: Any = Field(default=None, description="The input state (e.g. {'data': {...}}).")
    dataclip_id: uuid.UUID | None = Field(default=None, description="Or a saved input.")
    start_job_id: uuid.UUID | None = None


class RetryRequest(BaseModel):
    step_id: uuid.UUID
    version: manual.RetryVersion = Field(
        default="latest",
        description="`latest`: the workflow as saved now (the default: you fixed something); "
        "`original`: the version the run used.",
    )


class RunStarted(BaseModel):
    work_order_id: uuid.UUID
    run_id: uuid.UUID


@router.post(
    "/api/workflows/{workflow_id}/runs",
    response_model=RunStarted,
    status_code=status.HTTP_201_CREATED,
)
def start_run(
    session: SessionDep, user: CurrentUser, workflow_id: uuid.UUID, data: ManualRunRequest
) -> RunStarted:
    workflow = session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise NotFound("Workflow not found.")
    authorize(session, user, Action.RUN_WORKFLOWS, workflow.project_id)
    enqueued = manual.enqueue_manual(
        session,
        workflow,
        body=data.body,
        dataclip_id=data.dataclip_id,
        start_job_id=data.start_job_id,
        user_id=user.id,
    )
    return RunStarted(work_order_id=enqueued.work_order.id, run_id=enqueued.run.id)


@router.post(
    "/api/runs/{run_id}/retry", response_model=RunStarted, status_code=status.HTTP_201_CREATED
)
def retry_run(
    session: SessionDep, user: CurrentUser, run_id: uuid.UUID, data: RetryRequest
) -> RunStarted:
    run = session.get(Run, run_id)
    work_order = session.get(WorkOrder, run.work_order_id) if run else None
    if run is None or work_order is None:
        raise NotFound("Run not found.")
    authorize(session, user, Action.RUN_WORKFLOWS, work_order.project_id)
    new_run = manual.retry_from_step(session, run_id, data.step_id, user.id, version=data.version)
    return RunStarted(work_order_id=work_order.id, run_id=new_run.id)
