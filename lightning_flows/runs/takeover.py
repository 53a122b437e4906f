"""Runs whose worker stopped: handed back to resume elsewhere, or marked `lost`.

Three ways a run loses its worker, one policy:
- the worker is stopping (SIGTERM): runs between steps go back to `available`; after
  the grace period, runs still inside a step go back too, that step closed `lost`;
- the worker died (no heartbeat for `worker_dead_after_seconds`): any live worker hands
  its runs back the same way;
- a run is still unfinished after the max run duration plus grace (a step hanging on a
  live worker): it ends `lost` (the backstop), retried as a new run if the workflow asks.

A handed-back run keeps its id, work order and Prefect flow run; it resumes at the step
that was in flight (the completed steps' outputs are reused: engine/context.py). A
workflow with `on_worker_loss = mark_lost` never runs a step twice: an interrupted step
ends its run `lost` at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import workers
from lightning_flows.runs.models import LogLine, Run, Step, WorkOrder
from lightning_flows.runs.rows import Priority
from lightning_flows.runs.service import add_run
from lightning_flows.runs.states import ACTIVE_RUN_STATES, RunState
from lightning_flows.runs.transitions import transition
from lightning_flows.workflows.models import Workflow

LOST_ERROR = "LostError"


@dataclass
class HandedBack:
    """What changed, for the engine to mirror in Prefect."""

    resumed: list[uuid.UUID] = field(default_factory=list)
    lost: list[tuple[uuid.UUID, uuid.UUID | None]] = field(default_factory=list)
    """(run id, its Prefect flow run id)"""
    closed_task_runs: list[uuid.UUID] = field(default_factory=list)
    """Prefect task runs of the steps that were interrupted"""

    def extend(self, other: HandedBack) -> None:
        self.resumed += other.resumed
        self.lost += other.lost
        self.closed_task_runs += other.closed_task_runs


def hand_back(
    session: Session, run_ids: list[uuid.UUID], *, reason: str, held_by: str | None
) -> HandedBack:
    """Give runs back (held by `held_by`, if given): each resumes later at its
    interrupted step, or ends `lost` if its workflow says `mark_lost` and a step was
    interrupted. `reason` explains it in the step's error and the run's log."""
    out = HandedBack()
    if not run_ids:
        return out
    open_steps = _open_steps(session, run_ids)
    policy = _loss_policy(session, run_ids)
    mark_lost = [r for r in run_ids if policy.get(r) == "mark_lost" and r in open_steps]
    resume = [r for r in run_ids if r not in set(mark_lost)]
    lost = transition(
        session,
        mark_lost,
        RunState.LOST,
        held_by=held_by,
        error_type=LOST_ERROR,
        expect=ACTIVE_RUN_STATES,
        commit=False,
    )
    resumed = transition(
        session,
        resume,
        RunState.AVAILABLE,
        handback=True,
        held_by=held_by,
        extra={"priority": int(Priority.IMMEDIATE)},
        commit=False,
    )
    moved = set(lost) | set(resumed)
    now = utcnow()
    for run_id in moved:
        step_id, task_run_id = open_steps.get(run_id, (None, None))
        then = "The run ends `lost` (its workflow must not run a step twice)."
        if run_id in resumed:
            then = (
                "The run resumes on a live worker at this step; completed steps are not run again."
                if step_id is not None
                else "The run resumes on a live worker where it stopped."
            )
        if step_id is not None:
            _close_step(session, step_id, f"{reason} {then}", now)
            if task_run_id is not None:
                out.closed_task_runs.append(task_run_id)
        _log(session, run_id, step_id, f"{reason} {then}", now)
    flow_runs = dict(
        session.exec(select(Run.id, Run.prefect_flow_run_id).where(col(Run.id).in_(lost))).all()
    )
    session.commit()
    out.resumed = resumed
    out.lost = [(r, flow_runs.get(r)) for r in lost]
    return out


def take_over_dead_workers(session: Session, dead_after_seconds: float) -> HandedBack:
    """Hand back every run held by a worker silent for `dead_after_seconds` (or known
    dead already); a holder with no heartbeat row at all counts as dead once its run is
    that old (a worker beats before it claims anything)."""
    cutoff = utcnow() - timedelta(seconds=dead_after_seconds)
    known = workers.heartbeats(session)
    held = session.exec(
        select(Run.id, Run.worker_name, func.coalesce(Run.started_at, Run.claimed_at)).where(
            col(Run.state).in_([s.value for s in ACTIVE_RUN_STATES]),
            col(Run.worker_name).is_not(None),
            ~col(Run.worker_name).startswith(workers.EXTERNAL_PREFIX),
        )
    ).all()
    by_worker: dict[str, list[uuid.UUID]] = {}
    for run_id, name, since in held:
        if name is None:
            continue
        beat = known.get(name)
        dead = beat < cutoff if beat is not None else (since is not None and since < cutoff)
        if dead:
            by_worker.setdefault(name, []).append(run_id)
    out = HandedBack()
    for name, run_ids in by_worker.items():
        reason = f"The worker executing this run ({name}) stopped responding."
        out.extend(hand_back(session, run_ids, reason=reason, held_by=name))
    workers.forget_dead(session, cutoff)
    return out


def sweep_overdue_runs(session: Session, cutoff: datetime) -> HandedBack:
    """The backstop: runs claimed or started before `cutoff` end `lost`; a workflow with
    `retry_lost_runs` gets a new run of the same work order from the same input."""
    overdue = list(
        session.exec(
            select(Run).where(
                col(Run.state).in_([s.value for s in ACTIVE_RUN_STATES]),
                func.coalesce(Run.started_at, Run.claimed_at) < cutoff,
            )
        ).all()
    )
    out = HandedBack()
    now = utcnow()
    for run in overdue:
        moved = transition(
            session,
            [run.id],
            RunState.LOST,
            expect=[run.state],
            error_type=LOST_ERROR,
            commit=False,
        )
        if not moved:
            continue
        open_step = _open_steps(session, [run.id]).get(run.id)
        reason = "The run did not finish within the max run duration."
        if open_step is not None:
            _close_step(session, open_step[0], reason, now)
        _log(session, run.id, open_step[0] if open_step else None, reason, now)
        out.lost.append((run.id, run.prefect_flow_run_id))
        if _retries_lost_runs(session, run.work_order_id):
            add_run(
                session,
                work_order_id=run.work_order_id,
                snapshot_id=run.snapshot_id,
                job_id=run.starting_job_id,
                trigger_id=run.starting_trigger_id,
                dataclip_id=run.dataclip_id,
                priority=Priority(run.priority),
            )
        session.commit()
    return out


def _open_steps(
    session: Session, run_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]]:
    rows = session.exec(
        select(Step.run_id, Step.id, Step.prefect_task_run_id).where(
            col(Step.run_id).in_(run_ids), col(Step.exit_reason).is_(None)
        )
    ).all()
    return {run_id: (step_id, task_run_id) for run_id, step_id, task_run_id in rows}


def _loss_policy(session: Session, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.exec(
        select(Run.id, Workflow.on_worker_loss)
        .join(WorkOrder, WorkOrder.id == Run.work_order_id)  # type: ignore[arg-type]
        .join(Workflow, Workflow.id == WorkOrder.workflow_id)  # type: ignore[arg-type]
        .where(col(Run.id).in_(run_ids))
    ).all()
    return dict(rows)


def _retries_lost_runs(session: Session, work_order_id: uuid.UUID) -> bool:
    return bool(
        session.exec(
            select(Workflow.retry_lost_runs)
            .join(WorkOrder, WorkOrder.workflow_id == Workflow.id)  # type: ignore[arg-type]
            .where(WorkOrder.id == work_order_id)
        ).first()
    )


def _close_step(session: Session, step_id: uuid.UUID, message: str, now: datetime) -> None:
    session.execute(
        update(Step)
        .where(col(Step.id) == step_id, col(Step.exit_reason).is_(None))
        .values(exit_reason="lost", error_type=LOST_ERROR, error_message=message, finished_at=now)
    )


def _log(
    session: Session, run_id: uuid.UUID, step_id: uuid.UUID | None, message: str, now: datetime
) -> None:
    session.execute(
        insert(LogLine).values(
            id=uuid.uuid4(),
            run_id=run_id,
            step_id=step_id,
            level="warn",
            source="R/T",
            message=message,
            timestamp=now,
        )
    )
