"""Driving a flow run of the engine's deployments without Prefect's flow engine.

Prefect's `run_flow` costs ~125 ms of client CPU for a 3-task run (contexts,
a client and a suspension watcher per run, an API round trip per task state),
more than the whole budget of a step. The worker therefore drives its flow runs
through the same API calls Prefect's engine makes, and no more: the flow run
is created `Running` (engine/dispatch.py), each step is a task run reported by
state-change events (engine/task_runs.py), and the final state is proposed
through Prefect's orchestration, so the Prefect UI, retries and automations
see an ordinary flow run.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from prefect.client.schemas import SetStateStatus
from prefect.states import Crashed, Pending, Running, State

from lightning_flows.core.db import session_scope
from lightning_flows.engine.execution import execute_run
from lightning_flows.engine.lease import RunLease
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.dispatch import FlowRunRef, name_like_webhook_runs
from lightning_flows.engine.prefect.flow import flow_run_state, new_run_for
from lightning_flows.engine.prefect.task_runs import TaskRunReporter
from lightning_flows.runs.queue import release_claims
from lightning_flows.runs.states import RunState
from lightning_flows.runs.transitions import align_finished_at, transition

log = logging.getLogger(__name__)


def take_flow_run(flow_run_id: uuid.UUID) -> bool:
    """Move a scheduled flow run (schedule, deployment run, UI retry) to Running.

    Pending first: Prefect's orchestration lets only one worker through, as it
    does for its own runners. False if someone else has it or it is not due.
    """
    client = prefect_client()
    states: tuple[State[Any], ...] = (Pending(), Running())
    for state in states:
        result = client.set_flow_run_state(flow_run_id, state)
        if result.status != SetStateStatus.ACCEPT:
            log.info("flow run %s not taken: %s", flow_run_id, result.details)
            return False
    return True


def drive_flow_run(
    run_id: uuid.UUID | None,
    flow_run: FlowRunRef,
    worker_name: str,
    lease: RunLease | None = None,
) -> None:
    """Execute `run_id` (or create the run of a Prefect-started flow run) as `flow_run`.
    A run handed back mid-way (worker stopping) leaves its flow run Running: the
    worker that resumes the run finishes it."""
    if flow_run.start == "force" and not _force_running(flow_run.id, run_id, worker_name):
        return
    if flow_run.start == "take" and not take_flow_run(flow_run.id):
        return
    final: State[Any]
    try:
        name, tags = flow_run.name, flow_run.tags
        if run_id is None:
            run_id = _run_for_parameters(flow_run, worker_name)
            name, tags = name_like_webhook_runs(flow_run.id, run_id, tags) or (name, tags)
        reporter = TaskRunReporter(flow_run.id, name, tags)
        outcome = execute_run(run_id, reporter, worker_name, lease)
        if outcome.handed_back:
            return
        final = flow_run_state(outcome)
    except Exception as exc:
        log.exception("flow run %s of run %s failed to execute", flow_run.id, run_id)
        final = Crashed(message=f"{type(exc).__name__}: {exc}")
        if run_id is not None:
            _end_if_never_started(run_id)
    try:
        result = prefect_client().set_flow_run_state(flow_run.id, final)
    except Exception:  # the run row is final already; Prefect's view is a mirror
        log.warning("could not set the final state of flow run %s", flow_run.id, exc_info=True)
        return
    _same_end_time(run_id, final, result.state)


def _same_end_time(
    run_id: uuid.UUID | None, final: State[Any], accepted: State[Any] | None
) -> None:
    """Prefect dates the final state itself: the run row takes that end time, so both
    show the same (the task runs already carry the step rows' times)."""
    recorded = final.timestamp
    if run_id is None or accepted is None or accepted.timestamp == recorded:
        return
    try:
        with session_scope() as session:
            align_finished_at(session, run_id, recorded, accepted.timestamp)
    except Exception:
        log.warning("could not align the end time of run %s", run_id, exc_info=True)


def _force_running(flow_run_id: uuid.UUID, run_id: uuid.UUID | None, worker_name: str) -> bool:
    """An existing flow run of a run this worker claimed: nobody else can run it."""
    try:
        prefect_client().set_flow_run_state(flow_run_id, Running(), force=True)
        return True
    except Exception:
        log.warning("could not move flow run %s to Running; the run waits", flow_run_id)
        if run_id is not None:
            with session_scope() as session:
                release_claims(session, [run_id], worker_name)
        return False


def _run_for_parameters(flow_run: FlowRunRef, worker_name: str) -> uuid.UUID:
    workflow_id = flow_run.parameters.get("workflow_id")
    if workflow_id is None:
        raise ValueError("the flow run has neither a run_id nor a workflow_id parameter")
    trigger_id = flow_run.parameters.get("trigger_id")
    return new_run_for(
        flow_run.id,
        uuid.UUID(str(workflow_id)),
        str(trigger_id) if trigger_id else None,
        worker_name,
    )


def _end_if_never_started(run_id: uuid.UUID) -> None:
    """A run still `claimed` after its flow run ended never started: end it visibly."""
    with session_scope() as session:
        transition(
            session,
            [run_id],
            RunState.EXCEPTION,
            expect=[RunState.CLAIMED],
            error_type="EngineError",
        )
