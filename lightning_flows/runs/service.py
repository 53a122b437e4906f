"""Creating work orders and runs, and moving runs through their states.

`create_work_order` is the durability promise: dataclip, work order and run
are written in one transaction; once it returns, the run exists as `available`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from lightning_flows.core.errors import InvalidInput, InvalidTransition, NotFound
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder
from lightning_flows.runs.states import (
    RESUMABLE_RUN_STATES,
    RunState,
    WorkOrderState,
    transition_run,
    work_order_state_for,
)
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot


@dataclass(frozen=True)
class Enqueued:
    work_order: WorkOrder
    run: Run
    dataclip: Dataclip | None


def create_work_order(
    session: Session,
    *,
    workflow: Workflow,
    snapshot: WorkflowSnapshot,
    body: Any,
    dataclip_type: DataclipType,
    trigger_id: uuid.UUID | None = None,
    start_job_id: uuid.UUID | None = None,
    request: dict[str, Any] | None = None,
    created_by_id: uuid.UUID | None = None,
    priority: int = 1,
    commit: bool = True,
    existing_dataclip: Dataclip | None = None,
) -> Enqueued:
    """Write the input dataclip (unless reusing one), a work order and its run (`available`)."""
    if trigger_id is None and start_job_id is None:
        raise InvalidInput("A run starts from a trigger or a job.")
    _check_start(snapshot, trigger_id, start_job_id)
    dataclip = existing_dataclip or Dataclip(
        project_id=workflow.project_id, type=dataclip_type.value, body=body, request=request
    )
    if existing_dataclip is None:
        session.add(dataclip)
    work_order = WorkOrder(
        project_id=workflow.project_id,
        workflow_id=workflow.id,
        trigger_id=trigger_id,
        snapshot_id=snapshot.id,
        dataclip_id=dataclip.id,
    )
    run = Run(
        work_order_id=work_order.id,
        snapshot_id=snapshot.id,
        starting_trigger_id=trigger_id,
        starting_job_id=start_job_id,
        dataclip_id=dataclip.id,
        created_by_id=created_by_id,
        priority=priority,
    )
    session.add(work_order)
    session.flush()
    session.add(run)
    if commit:
        session.commit()
    else:
        session.flush()
    return Enqueued(work_order, run, dataclip)


def _check_start(
    snapshot: WorkflowSnapshot, trigger_id: uuid.UUID | None, job_id: uuid.UUID | None
) -> None:
    doc = snapshot.document
    if trigger_id is not None and str(trigger_id) not in {t["id"] for t in doc["triggers"]}:
        raise InvalidInput(f"Trigger {trigger_id} is not part of this workflow.")
    if job_id is not None and str(job_id) not in {j["id"] for j in doc["jobs"]}:
        raise InvalidInput(f"Job {job_id} is not part of this workflow.")


def get_run(session: Session, run_id: uuid.UUID) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("Run not found.")
    return run


def set_run_state(
    session: Session,
    run: Run,
    target: RunState,
    *,
    error_type: str | None = None,
    resume: bool = False,
) -> Run:
    """Move a run (and its work order) to `target`; illegal moves raise InvalidTransition."""
    transition_run(run, target, resume=resume)
    if target != RunState.STARTED or resume:
        run.error_type = error_type
    session.add(run)
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id) == run.work_order_id)
        .values(
            state=work_order_state_for(target).value, last_activity=utcnow(), updated_at=utcnow()
        )
    )
    session.commit()
    return run


def claim_run(session: Session, run_id: uuid.UUID, worker_name: str) -> bool:
    """Atomically claim an `available` run; False if someone else got it first."""
    now = utcnow()
    result = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.state) == RunState.AVAILABLE.value)
        .values(state=RunState.CLAIMED.value, claimed_at=now, worker_name=worker_name)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    run = session.get(Run, run_id)
    assert run is not None  # noqa: S101
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id) == run.work_order_id)
        .values(state=work_order_state_for(RunState.CLAIMED).value, last_activity=now)
    )
    session.commit()
    session.refresh(run)
    return True


def start_run(session: Session, run_id: uuid.UUID, worker_name: str = "") -> tuple[Run, bool]:
    """Move a run to `started` for execution; returns (run, resumed).

    `available` and `claimed` runs start; a failed/crashed/killed/lost run
    resumes (Prefect retry). Anything else raises InvalidTransition. Every move
    is a conditional update, so two engines never start the same run.
    """
    run = get_run(session, run_id)
    if run.state == RunState.AVAILABLE and not claim_run(session, run_id, worker_name):
        session.refresh(run)
    current = RunState(run.state)
    resume = current in RESUMABLE_RUN_STATES
    if current != RunState.CLAIMED and not resume:
        raise InvalidTransition(f"Run {run_id} is '{current}' and cannot be started.")
    now = utcnow()
    values = {
        "state": RunState.STARTED.value,
        "started_at": run.started_at if resume and run.started_at else now,
        "finished_at": None,
        "error_type": None,
    }
    result = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.state) == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidTransition(f"Run {run_id} was started by someone else.")
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id) == run.work_order_id)
        .values(state=WorkOrderState.RUNNING.value, last_activity=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    for key, value in values.items():  # what the update wrote, without reading it back
        set_committed_value(run, key, value)
    return run, resume
