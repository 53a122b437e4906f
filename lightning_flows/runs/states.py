"""The run and work order state machines, enforced in one place."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from lightning_flows.core.errors import InvalidTransition
from lightning_flows.core.timeutil import utcnow


class RunState(StrEnum):
    AVAILABLE = "available"
    CLAIMED = "claimed"
    STARTED = "started"
    SUCCESS = "success"
    FAILED = "failed"
    CRASHED = "crashed"
    CANCELLED = "cancelled"
    KILLED = "killed"
    EXCEPTION = "exception"
    LOST = "lost"


class WorkOrderState(StrEnum):
    REJECTED = "rejected"
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    CRASHED = "crashed"
    CANCELLED = "cancelled"
    KILLED = "killed"
    EXCEPTION = "exception"
    LOST = "lost"


FINAL_RUN_STATES = frozenset(
    {
        RunState.SUCCESS,
        RunState.FAILED,
        RunState.CRASHED,
        RunState.CANCELLED,
        RunState.KILLED,
        RunState.EXCEPTION,
        RunState.LOST,
    }
)

_FINALS = set(FINAL_RUN_STATES)
ALLOWED_RUN_TRANSITIONS: dict[RunState, set[RunState]] = {
    RunState.AVAILABLE: {RunState.CLAIMED, RunState.CANCELLED, RunState.LOST},
    RunState.CLAIMED: {RunState.STARTED} | _FINALS,
    RunState.STARTED: set(_FINALS),
    **{state: set() for state in FINAL_RUN_STATES},
}
# A retry of the Prefect flow run (from the Prefect UI) resumes a finished run
# from its failed step; it is the only way out of a final state.
RESUMABLE_RUN_STATES = frozenset(
    {RunState.FAILED, RunState.CRASHED, RunState.KILLED, RunState.EXCEPTION, RunState.LOST}
)


class _RunLike(Protocol):
    state: str
    claimed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


def can_transition(current: str, target: str, *, resume: bool = False) -> bool:
    """Whether a run may move from `current` to `target`."""
    cur, tgt = RunState(current), RunState(target)
    if resume:
        return cur in RESUMABLE_RUN_STATES and tgt == RunState.STARTED
    return tgt in ALLOWED_RUN_TRANSITIONS[cur]


def transition_run(run: _RunLike, target: RunState | str, *, resume: bool = False) -> None:
    """Move `run` to `target`, stamping its timestamps; refuse illegal moves."""
    target = RunState(target)
    if not can_transition(run.state, target, resume=resume):
        raise InvalidTransition(f"A run cannot go from '{run.state}' to '{target}'.")
    now = utcnow()
    run.state = target.value
    if target == RunState.CLAIMED:
        run.claimed_at = now
    elif target == RunState.STARTED:
        run.started_at = run.started_at if resume and run.started_at else now
        run.finished_at = None
    if target in FINAL_RUN_STATES:
        run.finished_at = now


def work_order_state_for(run_state: RunState | str) -> WorkOrderState:
    """A work order's state follows its latest run."""
    state = RunState(run_state)
    if state == RunState.AVAILABLE:
        return WorkOrderState.PENDING
    if state in (RunState.CLAIMED, RunState.STARTED):
        return WorkOrderState.RUNNING
    return WorkOrderState(state.value)
