"""Executing the steps of a stored run: the Node pool, recording, Prefect task runs.

Credentials are decrypted here, just before the step, passed to the job as
`state.configuration`, and never put in Prefect events, results or logs.
"""

from __future__ import annotations

import uuid
from typing import Any

from adaptor_tasks import AdaptorTasksError, StepRequest, StepResult
from adaptor_tasks.models import ExitReason
from lightning_flows.collections import tokens as collection_tokens
from lightning_flows.collections.usage import uses_collections
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.node_runtime import get_pool, installed_adaptor
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.scrubber import Scrubber, secret_values
from lightning_flows.credentials.usage import configuration_for
from lightning_flows.engine.context import RunContext
from lightning_flows.engine.execution_plan import PlanStep
from lightning_flows.engine.lease import RunLease
from lightning_flows.engine.recording import RunHandedBack, RunRecorder
from lightning_flows.engine.reporting import AnyStepReporter
from lightning_flows.engine.walker import StepOutcome, WalkResult


def untyped(error_type: str | None, message: str) -> str:
    """The message without a leading `<error_type>: `: OpenFn's runtime reports a job's
    `TypeError` with the message `TypeError: ...`, and we show the type before it."""
    prefix = f"{error_type}: " if error_type else None
    return message[len(prefix) :] if prefix and message.startswith(prefix) else message


class RunExecutor:
    """The walker's StepExecutor for a stored run: each step recorded and reported."""

    def __init__(
        self,
        ctx: RunContext,
        recorder: RunRecorder,
        reporter: AnyStepReporter,
        lease: RunLease | None = None,
    ) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.reporter = reporter
        self.lease = lease or RunLease()
        self.scrubber = recorder.scrubber
        self._secrets: set[str] = set()
        self._outputs: dict[str, uuid.UUID | None] = {}

    def run_step(self, step: PlanStep, state: dict[str, Any], parent: str | None) -> StepOutcome:
        input_clip = self._outputs.get(parent) if parent else self.ctx.input_dataclip_id
        reused = self.ctx.reusable.get(step.id)
        if reused is not None:
            self._outputs[step.id] = reused.output_dataclip_id
            return StepOutcome("success", dict(reused.output))
        self.lease.before_step(self.ctx.run_id, self.recorder.holder)
        outcome = self._execute(step, state, input_clip)
        if self.lease.revoked.is_set():  # handed back while the step ran: not ours any more
            raise RunHandedBack(f"run {self.ctx.run_id} was handed back during a step")
        return outcome

    def final_dataclip_id(self, result: WalkResult) -> uuid.UUID | None:
        """The output of the run's last leaf (or of its last step when it ended early)."""
        node = result.leaves[-1] if result.leaves else None
        if node is None and result.executed:
            node = result.executed[-1][0]
        return self._outputs.get(node) if node else None

    def evaluate(self, expression: str, state: dict[str, Any]) -> bool:
        return get_pool().evaluate_condition(expression, state)

    def _execute(
        self, step: PlanStep, state: dict[str, Any], input_dataclip_id: uuid.UUID | None
    ) -> StepOutcome:
        """Run a step, again while its retry policy says so: each attempt is a step row
        and a run of the same Prefect task run; the last attempt is the step's result."""
        policy, attempt = step.retry, 1
        task_run = self.reporter.prepare(step.name, step.id, uuid.uuid4())
        while True:
            step_row_id, started_at = uuid.uuid4(), utcnow()
            self.recorder.start_step(
                step_row_id,
                uuid.UUID(step.id),
                input_dataclip_id,
                task_run.id,
                attempt,
                started_at=started_at,
            )
            # Prefect's task run gets the times of our step row (start and end).
            if attempt == 1:
                self.reporter.announce(task_run, at=started_at)
            else:
                self.reporter.rerun(task_run, at=started_at)
            result = self._attempt(step, state)
            reason = str(result.exit_reason)
            retry = policy.should_retry(reason, attempt)
            lines = [
                (e.timestamp, e.level, e.source, self.scrubber.text(e.message)) for e in result.logs
            ]
            message = (
                self.scrubber.text(untyped(result.error_type, result.error_message))
                if result.error_message
                else None
            )
            delay = policy.delay_before(attempt + 1)
            if retry:
                lines.append(
                    (
                        utcnow(),
                        "warn",
                        "R/T",
                        f"Attempt {attempt} of {policy.max_attempts} ended {reason}: "
                        f"trying again in {delay:g} s",
                    )
                )
            finished_at = utcnow()
            dataclip_id = self.recorder.finish_step(
                step_row_id,
                finished_at=finished_at,
                exit_reason=reason,
                error_type=result.error_type,
                error_message=message,
                output=result.state,
                logs=lines,
            )
            self.reporter.log(lines, task_run.id)
            summary = f"{result.error_type}: {message}" if result.error_type else None
            if not retry:
                self.reporter.finish(task_run, reason, summary, at=finished_at)
                self._outputs[step.id] = dataclip_id
                return StepOutcome(reason, result.state, result.error_type, message)
            self.reporter.retry(task_run, summary, delay)
            self._wait(delay)
            attempt += 1

    def _wait(self, seconds: float) -> None:
        """Sleep before a retry; a worker stopping meanwhile hands the run back."""
        if seconds > 0 and self.lease.revoked.wait(seconds):
            raise RunHandedBack(f"run {self.ctx.run_id} was handed back before a retry")
        self.lease.before_step(self.ctx.run_id, self.recorder.holder)

    def _attempt(self, step: PlanStep, state: dict[str, Any]) -> StepResult:
        try:
            result = self._run_in_node(step, state)
        except AdaptorTasksError as exc:
            result = _failed(
                ExitReason.CRASH, type(exc).__name__.removesuffix("Error") + "Error", exc
            )
        except Exception as exc:  # an error of ours, not of the job: the run ends `exception`
            result = _failed(ExitReason.EXCEPTION, type(exc).__name__, exc)
        if result.error_message and result.error_line and "line" not in result.error_message:
            result.error_message = f"{result.error_message} (line {result.error_line})"
        return result

    def _run_in_node(self, step: PlanStep, state: dict[str, Any]) -> StepResult:
        adaptor = installed_adaptor(step.adaptor)
        state = dict(state)
        if step.project_credential_id:
            with session_scope() as session:  # refreshes an expiring OAuth token first
                body = configuration_for(session, uuid.UUID(step.project_credential_id))
            if body is not None:
                self._add_secrets(secret_values(body))
                state["configuration"] = body
        if uses_collections(step.body):
            access = self._collections_access()
            self._add_secrets({access["collections_token"]})
            state["configuration"] = {**(state.get("configuration") or {}), **access}
        return get_pool(self.ctx.step_memory_limit_mb).run_step(
            StepRequest(
                step_id=step.id,
                body=step.body,
                adaptor=adaptor,
                state=state,
                name=step.name,
                timeout_s=min(
                    self.ctx.step_timeout_seconds or float("inf"),
                    get_settings().step_timeout_seconds,
                ),
                cache_key=str(self.ctx.run_id),
                state_limit_bytes=self.ctx.state_limit_bytes,
            )
        )

    def _collections_access(self) -> dict[str, str]:
        """`collections_endpoint` and a fresh run token of this run's project."""
        ttl = collection_tokens.ttl_for_step(self.ctx.step_timeout_seconds)
        return {
            "collections_endpoint": collection_tokens.endpoint(),
            "collections_token": collection_tokens.mint(self.ctx.project_id, self.ctx.run_id, ttl),
        }

    def _add_secrets(self, secrets: set[str]) -> None:
        if not secrets <= self._secrets:
            self._secrets |= secrets
            self.scrubber = self.recorder.scrubber = Scrubber(self._secrets)


def _failed(reason: ExitReason, error_type: str, exc: Exception) -> StepResult:
    return StepResult(exit_reason=reason, error_type=error_type, error_message=str(exc), state=None)
