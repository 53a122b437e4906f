"""The run and work order state machines, enforced in one place."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


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

ACTIVE_RUN_STATES = frozenset({RunState.CLAIMED, RunState.STARTED})
_FINALS = set(FINAL_RUN_STATES)
# The forward moves of a run (runs/transitions.py enforces them):
#   available -> claimed            a worker claims it
#   available -> cancelled | lost   nobody will run it
#   claimed   -> started            execution begins
#   claimed   -> any final          ended before a step ran (engine error, mark_lost, cancel)
#   started   -> any final          the run ended
ALLOWED_RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.AVAILABLE: frozenset({RunState.CLAIMED, RunState.CANCELLED, RunState.LOST}),
    RunState.CLAIMED: frozenset({RunState.STARTED} | _FINALS),
    RunState.STARTED: frozenset(_FINALS),
    **{state: frozenset() for state in FINAL_RUN_STATES},
}
# Two explicit moves backwards, each only when asked for by name:
# `handback`: a claimed or started run goes back to `available` (Prefect could not take it,
# its worker is stopping, or its worker died); it resumes at the step that was in flight.
HANDBACK_RUN_STATES = ACTIVE_RUN_STATES
# `resume`: a retry of the Prefect flow run (from the Prefect UI) resumes a finished run
# from its failed step; it is the only way out of a final state.
RESUMABLE_RUN_STATES = frozenset(
    {RunState.FAILED, RunState.CRASHED, RunState.KILLED, RunState.EXCEPTION, RunState.LOST}
)


def can_transition(
    current: str, target: str, *, resume: bool = False, handback: bool = False
) -> bool:
    """Whether a run may move from `current` to `target` (by the named move, if any)."""
    return RunState(current) in sources_of(target, resume=resume, handback=handback)


def sources_of(
    target: RunState | str, *, resume: bool = False, handback: bool = False
) -> frozenset[RunState]:
    """Every state from which a run may move to `target` (by the named move, if any)."""
    tgt = RunState(target)
    if resume:
        return RESUMABLE_RUN_STATES if tgt == RunState.STARTED else frozenset()
    if handback:
        return HANDBACK_RUN_STATES if tgt == RunState.AVAILABLE else frozenset()
    return frozenset(s for s, targets in ALLOWED_RUN_TRANSITIONS.items() if tgt in targets)


def stamps_for(target: RunState | str, now: datetime) -> dict[str, object | None]:
    """The columns a move to `target` sets besides `state` (timestamps, claim, error)."""
    tgt = RunState(target)
    if tgt == RunState.AVAILABLE:
        return {"claimed_at": None, "worker_name": None}
    if tgt == RunState.CLAIMED:
        return {"claimed_at": now}
    if tgt == RunState.STARTED:
        return {"finished_at": None, "error_type": None}
    return {"finished_at": now}


def work_order_state_for(run_state: RunState | str) -> WorkOrderState:
    """A work order's state follows its latest run."""
    state = RunState(run_state)
    if state == RunState.AVAILABLE:
        return WorkOrderState.PENDING
    if state in (RunState.CLAIMED, RunState.STARTED):
        return WorkOrderState.RUNNING
    return WorkOrderState(state.value)
