"""`lightning-flows-run`: the one Prefect flow that executes a run of any workflow.

Each workflow's deployment points here, so Prefect's own workers (`prefect
deploy` with prefect.yaml) can execute runs too; `lightning-flows worker` drives
the same flow runs without Prefect's flow engine (engine/flow_runs.py). Its
parameter is the run id; a deployment run or a cron schedule passes the
workflow (and trigger) instead, and a run is created for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect import flow
from prefect.context import FlowRunContext
from prefect.states import Completed, Crashed, Failed, State

import lightning_flows.models  # noqa: F401  (every table registered before the first flush)
from lightning_flows.engine.execution import RunOutcome, execute_run
from lightning_flows.engine.prefect.task_runs import TaskRunReporter
from lightning_flows.runs.workers import EXTERNAL_PREFIX

FLOW_NAME = "lightning-flows-run"
ENTRYPOINT = "lightning_flows.engine.prefect.flow:run_workflow"
"""A module path, not a file path: Prefect's process workers run flow runs in a temporary
directory, where only the installed package can be found."""


@flow(name=FLOW_NAME, persist_result=False, validate_parameters=False, log_prints=False)
def run_workflow(
    run_id: str | None = None, workflow_id: str | None = None, trigger_id: str | None = None
) -> Any:
    """Execute run `run_id` (created by a webhook or a person), or start a run of
    `workflow_id` (a cron schedule passes its `trigger_id`; a deployment run neither)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        raise RuntimeError("run_workflow executes inside a Prefect flow run")
    flow_run = ctx.flow_run
    # Prefect watches its own workers' processes: the run is held in the flow run's name.
    holder = f"{EXTERNAL_PREFIX}{flow_run.id}"
    if run_id is None:
        if workflow_id is None:
            raise ValueError("run_workflow needs a run_id (or a workflow_id to start one)")
        run_id = str(new_run_for(flow_run.id, uuid.UUID(workflow_id), trigger_id, holder))
        from lightning_flows.engine.prefect.dispatch import name_like_webhook_runs

        named = name_like_webhook_runs(flow_run.id, uuid.UUID(run_id), list(flow_run.tags))
        name, tags = named or (flow_run.name, list(flow_run.tags))
    else:
        name, tags = flow_run.name, list(flow_run.tags)
    reporter = TaskRunReporter(flow_run.id, name, tags)
    outcome = execute_run(uuid.UUID(run_id), reporter, holder)
    if outcome.handed_back:
        raise RuntimeError(outcome.message)
    return flow_run_state(outcome)


def flow_run_state(outcome: RunOutcome) -> State[Any]:
    """The flow run's final state: Completed, Failed (fail/kill) or Crashed, dated when
    the run row ended (so Prefect's end time equals ours)."""
    state: State[Any]
    if outcome.state == "success":
        state = Completed(message=outcome.message)
    elif outcome.state in ("failed", "killed"):
        state = Failed(name=outcome.state.capitalize(), message=outcome.message)
    else:
        state = Crashed(message=outcome.message)
    if outcome.finished_at is not None:
        state.timestamp = outcome.finished_at  # type: ignore[assignment]
    return state


def new_run_for(
    flow_run_id: uuid.UUID, workflow_id: uuid.UUID, trigger_id: str | None, worker_name: str
) -> uuid.UUID:
    """A flow run started in Prefect (a schedule or its UI) without a run: create one, or
    find the one its first attempt created (this is a Prefect retry: it resumes there)."""
    from lightning_flows.runs.scheduled import enqueue_from_prefect, run_of_flow_run

    existing = run_of_flow_run(flow_run_id)
    if existing is not None:
        return existing
    return enqueue_from_prefect(
        workflow_id, uuid.UUID(trigger_id) if trigger_id else None, flow_run_id, worker_name
    )
