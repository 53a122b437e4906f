"""`lightning_flows.engine`: the one Prefect flow that executes a run of any workflow.

Its parameter is the run id. It loads the snapshot the run was created with,
walks the graph (each step a task run named after its job), records every
step and ends the run; the flow run's final state agrees with the run's.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from prefect import flow
from prefect.states import Completed, Crashed, Failed, State

import lightning_flows.models  # noqa: F401  (every table registered before the first flush)
from lightning_flows.core.db import session_scope
from lightning_flows.credentials.scrubber import Scrubber
from lightning_flows.engine.context import RunContext, load_run_context
from lightning_flows.engine.recording import RunRecorder
from lightning_flows.engine.steps import RunExecutor
from lightning_flows.engine.walker import WalkResult, walk
from lightning_flows.runs import service as runs
from lightning_flows.runs.states import RunState

FLOW_NAME = "lightning-flows-run"
ENTRYPOINT = "lightning_flows/engine/flow.py:run_workflow"
log = logging.getLogger(__name__)


@flow(name=FLOW_NAME, persist_result=False, validate_parameters=False, log_prints=False)
def run_workflow(
    run_id: str | None = None, workflow_id: str | None = None, trigger_id: str | None = None
) -> Any:
    """Execute run `run_id` (created by a webhook or a person), or start a run of
    `workflow_id` (a cron schedule passes its `trigger_id`; a deployment run neither)."""
    if run_id is None:
        if workflow_id is None:
            raise ValueError("run_workflow needs a run_id (or a workflow_id to start one)")
        run_id = str(_new_run_for(uuid.UUID(workflow_id), trigger_id))
    run_uuid = uuid.UUID(run_id)
    with session_scope() as session:
        run, resumed = runs.start_run(session, run_uuid)
        ctx = load_run_context(session, run, resumed=resumed)
    recorder = RunRecorder(ctx.run_id, ctx.project_id, ctx.retention, Scrubber())
    try:
        if resumed:
            recorder.logs(
                [
                    (
                        run.started_at or run.inserted_at,
                        "info",
                        "R/T",
                        f"Resuming: {len(ctx.reusable)} completed step(s) are not run again",
                    )
                ]
            )
        executor = RunExecutor(ctx, recorder)
        result = walk(ctx.plan, ctx.initial_state, executor)
    except Exception as exc:
        log.exception("run %s failed inside the engine", run_id)
        _finish(ctx, recorder, WalkResult("exception", None, type(exc).__name__, str(exc)), None)
        raise
    return _finish(ctx, recorder, result, executor.final_dataclip_id(result))


def _finish(
    ctx: RunContext,
    recorder: RunRecorder,
    result: WalkResult,
    final_dataclip_id: uuid.UUID | None,
) -> Any:
    # Retention first: once a run shows as finished, its data already obeys the policy.
    recorder.finish_run(result.state == "success", ctx.input_dataclip_id)
    with session_scope() as session:
        run = runs.get_run(session, ctx.run_id)
        run.final_dataclip_id = final_dataclip_id
        runs.set_run_state(session, run, RunState(result.state), error_type=result.error_type)
    message = f"Run {result.state}" + (
        f": {result.error_type}: {recorder.scrubber.text(result.error_message or '')}"
        if result.error_type
        else ""
    )
    state: State[Any]
    if result.state == "success":
        return Completed(message=message, data=result.final_state)
    if result.state in ("failed", "killed"):
        state = Failed(name=result.state.capitalize(), message=message)
    else:
        state = Crashed(message=message)
    return state


def _new_run_for(workflow_id: uuid.UUID, trigger_id: str | None) -> uuid.UUID:
    """A flow run started in Prefect (a schedule or its UI) without a run: create one."""
    from prefect.context import FlowRunContext

    from lightning_flows.engine.manual import enqueue_from_prefect

    ctx = FlowRunContext.get()
    flow_run_id = ctx.flow_run.id if ctx and ctx.flow_run else None
    return enqueue_from_prefect(
        workflow_id, uuid.UUID(trigger_id) if trigger_id else None, flow_run_id
    )
