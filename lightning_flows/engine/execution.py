"""Executing one stored run, whoever drives its Prefect flow run.

`execute_run` starts the run, walks its snapshot's plan (each step recorded in
our tables and reported to Prefect as a task run) and ends the run; it returns
what the flow run's final state must say. The worker drives the flow run itself
(`engine/prefect/flow_runs.py`); Prefect's own workers run it as the `run_workflow` flow
(`engine/prefect/flow.py`). Both end here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.scrubber import Scrubber
from lightning_flows.engine.context import RunContext, load_run_context
from lightning_flows.engine.lease import RunLease
from lightning_flows.engine.recording import RunHandedBack, RunRecorder
from lightning_flows.engine.reporting import AnyStepReporter
from lightning_flows.engine.steps import RunExecutor
from lightning_flows.engine.walker import WalkResult, walk
from lightning_flows.runs import service as runs
from lightning_flows.runs.states import RunState

log = logging.getLogger(__name__)
HANDED_BACK = "handed_back"


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: its state, a message for Prefect, the final state data."""

    state: str
    message: str
    final_state: dict[str, Any] | None
    finished_at: datetime | None = None  # as recorded in the run row

    @property
    def handed_back(self) -> bool:
        """The run was given back mid-way; it resumes elsewhere under the same flow run."""
        return self.state == HANDED_BACK


def execute_run(
    run_id: uuid.UUID,
    reporter: AnyStepReporter,
    worker_name: str = "",
    lease: RunLease | None = None,
) -> RunOutcome:
    """Start `run_id` (or resume it: a Prefect retry, a run handed back mid-way),
    execute it, end it. A run handed back meanwhile ends `handed_back`: not ended here."""
    with session_scope() as session:
        run, resumed = runs.start_run(session, run_id, worker_name)
        ctx = load_run_context(session, run, resumed=resumed)
        holder = run.worker_name
    recorder = RunRecorder(ctx.run_id, ctx.project_id, ctx.retention, Scrubber(), holder)
    executor = RunExecutor(ctx, recorder, reporter, lease)
    try:
        if resumed:
            line = (
                utcnow(),  # its own time, not the run's first start
                "info",
                "R/T",
                f"Resuming: {len(ctx.reusable)} completed step(s) are not run again",
            )
            recorder.logs([line])
            reporter.log([line])
        missing = _failed_step_gone(ctx)
        result = missing or walk(ctx.plan, ctx.initial_state, executor)
    except RunHandedBack:
        log.info("run %s was handed back; it resumes elsewhere", run_id)
        return RunOutcome(HANDED_BACK, "Handed back: the run resumes on another worker.", None)
    except Exception as exc:
        log.exception("run %s failed inside the engine", run_id)
        result = WalkResult("exception", None, type(exc).__name__, str(exc))
    return _finish(ctx, recorder, result, executor.final_dataclip_id(result))


def _failed_step_gone(ctx: RunContext) -> WalkResult | None:
    """A Prefect retry resumes at the failed step on the latest version; if that version
    no longer has the step, the run fails saying so (nothing is executed)."""
    if not ctx.resumed or ctx.failed_job_id is None or ctx.failed_job_id in ctx.plan.steps:
        return None
    name = ctx.failed_job_name or ctx.failed_job_id
    return WalkResult(
        "failed",
        None,
        "StepRemoved",
        f"The step '{name}' that failed is not in the latest version of the workflow, so "
        "the run cannot resume there. Retry the run from its first step instead (run page, "
        'or POST /api/runs/{id}/retry), or replay it with "version": "original".',
    )


def _finish(
    ctx: RunContext,
    recorder: RunRecorder,
    result: WalkResult,
    final_dataclip_id: uuid.UUID | None,
) -> RunOutcome:
    # Retention in the transaction that ends the run: once a run shows as finished, its
    # data already obeys the policy; a run handed back meanwhile is left alone.
    finished_at = utcnow()  # Prefect's flow run ends at this same moment
    with session_scope() as session:
        ended = runs.finish_run(
            session,
            ctx.run_id,
            RunState(result.state),
            error_type=result.error_type,
            final_dataclip_id=final_dataclip_id,
            held_by=recorder.holder,
            commit=False,
            finished_at=finished_at,
        )
        if ended:
            recorder.apply_retention(session, result.state == "success", ctx.input_dataclip_id)
        session.commit()
    if not ended:
        return RunOutcome(HANDED_BACK, "Handed back: the run resumes on another worker.", None)
    message = f"Run {result.state}" + (
        f": {result.error_type}: {recorder.scrubber.text(result.error_message or '')}"
        if result.error_type
        else ""
    )
    return RunOutcome(result.state, message, result.final_state, finished_at)
