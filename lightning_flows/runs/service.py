"""Creating work orders and runs, and moving runs through their states.

`create_work_order` is the durability promise: dataclip, work order and run
are written in one transaction; once it returns, the run exists as `available`.
Every state change goes through `runs/transitions.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, or_, update
from sqlmodel import Session, col, select

from lightning_flows.core.errors import InvalidInput, InvalidTransition, NotFound
from lightning_flows.runs import rows
from lightning_flows.runs.models import Dataclip, DataclipType, Run, Step, WorkOrder
from lightning_flows.runs.states import RESUMABLE_RUN_STATES, RunState, work_order_state_for
from lightning_flows.runs.transitions import transition, transition_one
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
    priority: int = rows.Priority.NORMAL,
    commit: bool = True,
    existing_dataclip: Dataclip | None = None,
    state: RunState = RunState.AVAILABLE,
    worker_name: str | None = None,
    prefect_flow_run_id: uuid.UUID | None = None,
) -> Enqueued:
    """Write the input dataclip (unless reusing one), a work order and its run
    (`available`, or `claimed` for a flow run that started in Prefect)."""
    if trigger_id is None and start_job_id is None:
        raise InvalidInput("A run starts from a trigger or a job.")
    _check_start(snapshot, trigger_id, start_job_id)
    dataclip = existing_dataclip or Dataclip(
        project_id=workflow.project_id, type=dataclip_type.value, body=body, request=request
    )
    if existing_dataclip is None:
        session.add(dataclip)
    work_order = WorkOrder(
        **rows.work_order_row(
            project_id=workflow.project_id,
            workflow_id=workflow.id,
            snapshot_id=snapshot.id,
            dataclip_id=dataclip.id,
            trigger_id=trigger_id,
            run_state=state,
        )
    )
    session.add(work_order)
    session.flush()
    run = add_run(
        session,
        work_order_id=work_order.id,
        snapshot_id=snapshot.id,
        dataclip_id=dataclip.id,
        trigger_id=trigger_id,
        job_id=start_job_id,
        priority=rows.Priority(priority),
        created_by_id=created_by_id,
        state=state,
        worker_name=worker_name,
        prefect_flow_run_id=prefect_flow_run_id,
    )
    if commit:
        session.commit()
    else:
        session.flush()
    return Enqueued(work_order, run, dataclip)


def add_run(session: Session, **values: Any) -> Run:
    """A new run of an existing work order (retries), built by `rows.run_row`; the caller
    commits. The work order shows as pending (or running) again."""
    run = Run(**rows.run_row(**values))
    session.add(run)
    work_order = session.get(WorkOrder, run.work_order_id)
    if work_order is not None:
        work_order.state = work_order_state_for(run.state).value
        work_order.last_activity = work_order.updated_at = run.inserted_at
        session.add(work_order)
    return run


def add_runs(session: Session, run_rows: list[dict[str, Any]]) -> None:
    """Many new runs of existing work orders at once (bulk retries): rows built by
    `rows.run_row`, one INSERT and one UPDATE of their work orders; the caller commits."""
    if not run_rows:
        return
    session.execute(insert(Run), run_rows)
    by_state: dict[str, list[uuid.UUID]] = {}
    for row in run_rows:
        state = work_order_state_for(RunState(row["state"])).value
        by_state.setdefault(state, []).append(row["work_order_id"])
    now = max(row["inserted_at"] for row in run_rows)
    for state, ids in by_state.items():
        session.execute(
            update(WorkOrder)
            .where(col(WorkOrder.id).in_(ids))
            .values(state=state, last_activity=now, updated_at=now)
        )


def _check_start(
    snapshot: WorkflowSnapshot, trigger_id: uuid.UUID | None, job_id: uuid.UUID | None
) -> None:
    doc = snapshot.document
    if trigger_id is not None and str(trigger_id) not in {t["id"] for t in doc["triggers"]}:
        raise InvalidInput(f"Trigger {trigger_id} is not part of this workflow.")
    if job_id is not None and str(job_id) not in {j["id"] for j in doc["jobs"]}:
        raise InvalidInput(f"Job {job_id} is not part of this workflow.")


def get_run(session: Session, run_id: uuid.UUID) -> Run:
    """The run row, or NotFound."""
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
    transition_one(
        session, run.id, target, expect=[run.state], resume=resume, error_type=error_type
    )
    session.refresh(run)
    return run


def claim_run(session: Session, run_id: uuid.UUID, worker_name: str) -> bool:
    """Atomically claim an `available` run; False if someone else got it first."""
    return bool(transition(session, [run_id], RunState.CLAIMED, worker_name=worker_name))


def start_run(session: Session, run_id: uuid.UUID, worker_name: str = "") -> tuple[Run, bool]:
    """Move a run to `started` for execution; returns (run, resumed).

    `available` and `claimed` runs start; a failed/crashed/killed/lost run resumes
    (Prefect retry) on the workflow's latest version, since a person retries because
    they fixed something. A run that already has steps (handed back by a stopping
    worker or taken over from a dead one) resumes too, on its own version. Completed
    steps are reused. Anything else raises InvalidTransition; two engines never start
    the same run.
    """
    run = get_run(session, run_id)
    if run.state == RunState.AVAILABLE and not claim_run(session, run_id, worker_name):
        session.refresh(run)
    session.refresh(run)
    current = RunState(run.state)
    resume = current in RESUMABLE_RUN_STATES
    if current != RunState.CLAIMED and not resume:
        raise InvalidTransition(f"Run {run_id} is '{current}' and cannot be started.")
    extra = {"snapshot_id": _latest_snapshot_id(session, run)} if resume else None
    if not transition(
        session, [run_id], RunState.STARTED, expect=[current], resume=resume, extra=extra
    ):
        raise InvalidTransition(f"Run {run_id} was started by someone else.")
    session.refresh(run)
    return run, resume or has_steps(session, run_id)


def _latest_snapshot_id(session: Session, run: Run) -> uuid.UUID:
    latest = session.exec(
        select(WorkflowSnapshot.id)
        .join(WorkOrder, col(WorkOrder.workflow_id) == col(WorkflowSnapshot.workflow_id))
        .where(col(WorkOrder.id) == run.work_order_id)
        .order_by(col(WorkflowSnapshot.lock_version).desc())
    ).first()
    return latest or run.snapshot_id


def finish_run(
    session: Session,
    run_id: uuid.UUID,
    target: RunState,
    *,
    error_type: str | None = None,
    final_dataclip_id: uuid.UUID | None = None,
    held_by: str | None = None,
    commit: bool = True,
    finished_at: datetime | None = None,
) -> bool:
    """End a started run; False if it is no longer this engine's to end (handed back).
    `held_by` (the worker that started it) must still hold it, if given; `finished_at`
    (default now) is also the end the engine gives Prefect."""
    ended = {"finished_at": finished_at} if finished_at is not None else {}
    moved = transition(
        session,
        [run_id],
        target,
        expect=[RunState.STARTED],
        held_by=held_by,
        error_type=error_type,
        extra={"final_dataclip_id": final_dataclip_id, **ended},
        commit=commit,
    )
    return bool(moved)


def has_steps(session: Session, run_id: uuid.UUID) -> bool:
    """Whether a run executed (or began) any step already."""
    first = session.exec(select(Step.id).where(col(Step.run_id) == run_id).limit(1)).first()
    return first is not None


def link_flow_runs(session: Session, flow_runs: dict[uuid.UUID, uuid.UUID]) -> None:
    """Store each run's Prefect flow run id (run id -> flow run id). A different id than
    the stored one means Prefect lost the old flow run (a reset database): the new one
    replaces it. The caller commits."""
    stored = col(Run.prefect_flow_run_id)
    session.connection().execute(
        update(Run)
        .where(
            col(Run.id) == bindparam("run_id"),
            or_(stored.is_(None), stored != bindparam("flow_run_id")),
        )
        .values(prefect_flow_run_id=bindparam("flow_run_id")),
        [{"run_id": k, "flow_run_id": v} for k, v in flow_runs.items()],
    )
