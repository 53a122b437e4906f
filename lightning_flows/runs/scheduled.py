"""Runs that start in Prefect rather than at intake: cron schedules and deployment runs.

The run is created already `claimed` and linked to the flow run that will
execute it, so the database poller never picks it up a second time.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.runs import service as runs
from lightning_flows.runs.manual import default_start
from lightning_flows.runs.models import Dataclip, DataclipType, Run, Step, WorkOrder
from lightning_flows.runs.states import RunState
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Trigger, Workflow


def enqueue_from_prefect(
    workflow_id: uuid.UUID,
    trigger_id: uuid.UUID | None,
    flow_run_id: uuid.UUID | None,
    worker_name: str | None = None,
) -> uuid.UUID:
    """Create the work order and run a Prefect-started flow run executes; returns the run id."""
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None or workflow.deleted_at is not None:
            raise NotFound(f"Workflow {workflow_id} does not exist (or was deleted).")
        snapshot = workflows.latest_snapshot(session, workflow_id)
        trigger = session.get(Trigger, trigger_id) if trigger_id else None
        if trigger_id is not None and (trigger is None or trigger.workflow_id != workflow_id):
            raise InvalidInput(f"Trigger {trigger_id} is not part of workflow {workflow_id}.")
        start_trigger, start_job = (trigger.id, None) if trigger else default_start(snapshot)
        cursor = cron_input(session, workflow, trigger) if trigger else None
        enqueued = runs.create_work_order(
            session,
            workflow=workflow,
            snapshot=snapshot,
            body={},
            dataclip_type=DataclipType.GLOBAL,
            trigger_id=start_trigger,
            start_job_id=start_job,
            existing_dataclip=cursor,
            commit=False,
            state=RunState.CLAIMED,
            worker_name=worker_name,
            prefect_flow_run_id=flow_run_id,
        )
        return enqueued.run.id


def run_of_flow_run(flow_run_id: uuid.UUID) -> uuid.UUID | None:
    """The run a Prefect-started flow run created on its first attempt (None: none yet).
    A retry of that flow run (Prefect UI, automation) resumes this run, not a new one."""
    with session_scope() as session:
        return session.exec(
            select(Run.id)
            .where(Run.prefect_flow_run_id == flow_run_id)
            .order_by(col(Run.inserted_at).desc())
        ).first()


def cron_input(session: Session, workflow: Workflow, trigger: Trigger) -> Dataclip | None:
    """OpenFn's cron cursor: the last successful run's final state, or the output of
    `cron_cursor_job_id`'s last success; None (an empty input) when there is none."""
    if trigger.cron_cursor_job_id is not None:
        dataclip_id = session.exec(
            select(Step.output_dataclip_id)
            .join(Run, Run.id == Step.run_id)  # type: ignore[arg-type]
            .join(WorkOrder, WorkOrder.id == Run.work_order_id)  # type: ignore[arg-type]
            .where(
                WorkOrder.workflow_id == workflow.id,
                Step.job_id == trigger.cron_cursor_job_id,
                Step.exit_reason == "success",
            )
            .order_by(col(Step.finished_at).desc())
        ).first()
    else:
        dataclip_id = session.exec(
            select(Run.final_dataclip_id)
            .join(WorkOrder, WorkOrder.id == Run.work_order_id)  # type: ignore[arg-type]
            .where(WorkOrder.workflow_id == workflow.id, Run.state == RunState.SUCCESS.value)
            .order_by(col(Run.finished_at).desc())
        ).first()
    clip = session.get(Dataclip, dataclip_id) if dataclip_id else None
    return clip if clip is not None and clip.wiped_at is None else None
