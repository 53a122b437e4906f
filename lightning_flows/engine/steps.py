"""Each step of a run as a Prefect task run, executed by the Node pool.

Credentials are decrypted here, inside the task, passed to the job as
`state.configuration`, and never put in task parameters, results or logs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.states import Completed, Failed, State

from adaptor_tasks import AdaptorTasksError, StepRequest, StepResult
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.credentials.scrubber import Scrubber, secret_values
from lightning_flows.credentials.usage import configuration_for
from lightning_flows.engine.context import RunContext
from lightning_flows.engine.plan import PlanStep
from lightning_flows.engine.recording import RunRecorder
from lightning_flows.engine.runtime import get_pool, installed_adaptor
from lightning_flows.engine.walker import StepOutcome, WalkResult

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "success": logging.INFO,
    "always": logging.INFO,
}


@dataclass
class _PendingStep:
    executor: RunExecutor
    step: PlanStep
    state: dict[str, Any]
    input_dataclip_id: uuid.UUID | None


# Step state travels beside the task call, not through it: Prefect never sees it.
_pending: dict[str, _PendingStep] = {}
_pending_lock = threading.Lock()


@task(cache_policy=NO_CACHE, persist_result=False, retries=0)
def execute_step(run_id: str, job_id: str, step_key: str) -> State:
    """One job of a run; the task run is named after the job."""
    with _pending_lock:
        pending = _pending.pop(step_key)
    outcome = pending.executor.execute(pending.step, pending.state, pending.input_dataclip_id)
    if outcome.exit_reason == "success":
        return Completed(data=outcome)
    return Failed(
        name={"fail": "Failed", "kill": "Killed"}.get(outcome.exit_reason, "Crashed"),
        message=f"{outcome.error_type}: {outcome.error_message}",
        data=outcome,
    )


class RunExecutor:
    """The walker's StepExecutor for a stored run: Prefect task runs + recording."""

    def __init__(self, ctx: RunContext, recorder: RunRecorder) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.scrubber = recorder.scrubber
        self._secrets: set[str] = set()
        self._outputs: dict[str, uuid.UUID | None] = {}

    def run_step(self, step: PlanStep, state: dict[str, Any], parent: str | None) -> StepOutcome:
        input_clip = self._outputs.get(parent) if parent else self.ctx.input_dataclip_id
        reused = self.ctx.reusable.get(step.id)
        if reused is not None:
            self._outputs[step.id] = reused.output_dataclip_id
            return StepOutcome("success", dict(reused.output))
        key = uuid.uuid4().hex
        with _pending_lock:
            _pending[key] = _PendingStep(self, step, state, input_clip)
        try:
            task_state = execute_step.with_options(name=step.name, task_run_name=step.name)(
                str(self.ctx.run_id), step.id, key, return_state=True
            )
        finally:
            with _pending_lock:
                _pending.pop(key, None)
        outcome = task_state.result(raise_on_failure=False)
        if isinstance(outcome, StepOutcome):
            return outcome
        return StepOutcome("exception", None, type(outcome).__name__, str(outcome))

    def final_dataclip_id(self, result: WalkResult) -> uuid.UUID | None:
        """The output of the run's last leaf (or of its last step when it ended early)."""
        node = result.leaves[-1] if result.leaves else None
        if node is None and result.executed:
            node = result.executed[-1][0]
        return self._outputs.get(node) if node else None

    def evaluate(self, expression: str, state: dict[str, Any]) -> bool:
        return get_pool().evaluate_condition(expression, state)

    def execute(
        self, step: PlanStep, state: dict[str, Any], input_dataclip_id: uuid.UUID | None
    ) -> StepOutcome:
        """Run the job in the Node pool and record it (inside the task run)."""
        task_ctx = TaskRunContext.get()
        task_run_id = task_ctx.task_run.id if task_ctx else None
        step_id = self.recorder.start_step(uuid.UUID(step.id), input_dataclip_id, task_run_id)
        try:
            result = self._run_in_node(step, state)
        except AdaptorTasksError as exc:
            result = StepResult(
                exit_reason="crash",  # type: ignore[arg-type]
                error_type=type(exc).__name__.removesuffix("Error") + "Error",
                error_message=str(exc),
                state=None,
            )
        if result.error_message and result.error_line and "line" not in result.error_message:
            result.error_message = f"{result.error_message} (line {result.error_line})"
        lines = [(e.timestamp, e.level, e.source, e.message) for e in result.logs]
        self.recorder.logs(lines, step_id)
        self._forward_to_prefect(lines)
        dataclip_id = self.recorder.finish_step(
            step_id,
            exit_reason=str(result.exit_reason),
            error_type=result.error_type,
            error_message=result.error_message,
            output=result.state,
        )
        self._outputs[step.id] = dataclip_id
        return StepOutcome(
            str(result.exit_reason),
            result.state,
            result.error_type,
            self.scrubber.text(result.error_message) if result.error_message else None,
        )

    def _run_in_node(self, step: PlanStep, state: dict[str, Any]) -> StepResult:
        adaptor = installed_adaptor(step.adaptor)
        state = dict(state)
        if step.project_credential_id:
            with session_scope() as session:  # refreshes an expiring OAuth token first
                body = configuration_for(session, uuid.UUID(step.project_credential_id))
            if body is not None:
                self._add_secrets(secret_values(body))
                state["configuration"] = body
        return get_pool().run_step(
            StepRequest(
                step_id=step.id,
                body=step.body,
                adaptor=adaptor,
                state=state,
                name=step.name,
                timeout_s=get_settings().step_timeout_seconds,
            )
        )

    def _add_secrets(self, secrets: set[str]) -> None:
        if not secrets <= self._secrets:
            self._secrets |= secrets
            self.scrubber = self.recorder.scrubber = Scrubber(self._secrets)

    def _forward_to_prefect(self, lines: list[tuple[Any, str, str, str]]) -> None:
        logger = get_run_logger()
        for _ts, level, source, message in lines:
            logger.log(
                _LEVELS.get(level, logging.INFO), "%s %s", source, self.scrubber.text(message)
            )
