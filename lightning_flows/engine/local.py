"""Running a job or workflow file locally: no server, database or Prefect.

`lightning-flows run` uses this, like OpenFn's `openfn job.js -s state.json`:
the plan reader and walker the platform uses, with every step executed by a
private one-process Node pool that is closed when the run ends.

A step's input is assembled as @openfn/runtime does: the step's `state` holds
defaults under the incoming state (`data` merged one level deep) and its
`configuration` is merged over `state.configuration`. The runtime removes
`configuration` from every step's output, so it only reaches a step through
the state file (first step) or the step's own `configuration`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adaptor_tasks import AdaptorRef, AdaptorTasksError, LogEntry, NodePool, StepRequest
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import InvalidInput
from lightning_flows.core.node_runtime import installed_adaptor
from lightning_flows.credentials.scrubber import Scrubber, secret_values
from lightning_flows.engine.execution_plan import ExecutionPlan, PlanStep, plan_from_openfn
from lightning_flows.engine.walker import StepOutcome, WalkResult, walk

LogCallback = Callable[[LogEntry], None]
_HIDDEN_KEYS = ("configuration",)


class LocalRunError(Exception):
    """The run cannot start: a missing or invalid file, plan or adaptor."""


@dataclasses.dataclass
class LocalRun:
    """A finished local run: the walker's result, the state to show and every log line."""

    plan: ExecutionPlan
    walk: WalkResult
    logs: list[LogEntry]

    @property
    def output(self) -> dict[str, Any] | None:
        """The final state without `configuration`; `{leaf_id: state}` for several leaves.

        None unless the run succeeded or failed: a crash, kill or exception leaves no state.
        """
        if self.walk.state not in ("success", "failed") or self.walk.final_state is None:
            return None
        if len(self.walk.leaves) > 1:
            outputs = {node: outcome.state for node, outcome in self.walk.executed}
            return {leaf: _visible(outputs.get(leaf) or {}) for leaf in self.walk.leaves}
        return _visible(self.walk.final_state)

    @property
    def failed_step(self) -> str | None:
        """Name of the step that decided a non-success result, if a step did."""
        executed, result = self.walk.executed, self.walk
        if result.state == "failed":
            nodes = [n for n, o in executed if n in result.leaves and o.exit_reason == "fail"]
            return self.plan.name_of(nodes[0]) if nodes else None
        if result.state == "success" or result.error_type == "EdgeConditionError" or not executed:
            return None
        return self.plan.name_of(executed[-1][0])


def _visible(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key not in _HIDDEN_KEYS}


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from `path`; LocalRunError naming the line and column if it is invalid."""
    text = _read_text(path, what)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LocalRunError(
            f"Invalid JSON in {what} {path} at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(value, dict):
        raise LocalRunError(f"The {what} {path} must hold a JSON object.")
    return value


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise LocalRunError(f"The {what} {path} does not exist.")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalRunError(f"Cannot read the {what} {path}: {exc}") from exc


def load_plan(path: Path, *, adaptor: str = "common", start: str | None = None) -> ExecutionPlan:
    """A workflow plan (`.json`, OpenFn's execution plan) or a one-step plan for a job file."""
    if path.suffix.lower() == ".json":
        document = read_json_object(path, "workflow")
        try:
            plan = plan_from_openfn(document, path.resolve().parent)
        except InvalidInput as exc:
            raise LocalRunError(f"Invalid workflow {path}: {exc.message}") from exc
        except json.JSONDecodeError as exc:
            raise LocalRunError(
                f"Invalid workflow {path}: a referenced file holds invalid JSON "
                f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        except (AttributeError, TypeError, IndexError, ValueError) as exc:
            raise LocalRunError(f"Invalid workflow {path}: {exc}") from exc
    else:
        step = PlanStep(id=path.stem, name=path.stem, adaptor=adaptor, body=_read_text(path, "job"))
        plan = ExecutionPlan(steps={step.id: step}, edges=[], start=step.id)
    if start is not None and start != plan.start:
        if start not in plan.steps and start not in plan.triggers:
            known = ", ".join(sorted(plan.steps)) or "none"
            raise LocalRunError(f"There is no step '{start}' to start from (steps: {known}).")
        plan = dataclasses.replace(plan, start=start)
    return plan


def resolve_adaptors(plan: ExecutionPlan) -> dict[str, AdaptorRef]:
    """Each step's adaptor, installed (shorthand and `latest` resolved) before the run."""
    refs: dict[str, AdaptorRef] = {}
    for step in plan.steps.values():
        try:
            refs[step.id] = installed_adaptor(step.adaptor)
        except AdaptorTasksError as exc:
            raise LocalRunError(f"Adaptor '{step.adaptor}' of step '{step.name}': {exc}") from exc
    return refs


def assemble_state(
    incoming: dict[str, Any], configuration: dict[str, Any] | None, defaults: dict[str, Any] | None
) -> dict[str, Any]:
    """A step's input state, merged as @openfn/runtime merges a step's state and credential."""
    defaults = defaults or {}
    state = {**defaults, **incoming}
    data, default_data = incoming.get("data"), defaults.get("data")
    if isinstance(default_data, dict) and (data is None or isinstance(data, dict)):
        state["data"] = {**default_data, **(data or {})}
    if configuration:
        base = incoming.get("configuration")
        state["configuration"] = {**(base if isinstance(base, dict) else {}), **configuration}
    return state


class LocalExecutor:
    """The walker's StepExecutor for a local run: steps and edge conditions in a Node pool."""

    def __init__(
        self,
        pool: NodePool,
        adaptors: dict[str, AdaptorRef],
        scrubber: Scrubber,
        on_log: LogCallback | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.pool, self.adaptors, self.scrubber = pool, adaptors, scrubber
        self.on_log, self.timeout_s = on_log, timeout_s
        self.logs: list[LogEntry] = []

    def run_step(self, step: PlanStep, state: dict[str, Any], parent: str | None) -> StepOutcome:
        request = StepRequest(
            step_id=step.id,
            body=step.body,
            adaptor=self.adaptors[step.id],
            state=assemble_state(state, step.configuration, step.state),
            timeout_s=self.timeout_s,
            name=step.name,
        )
        try:
            result = self.pool.run_step(request, on_log=self._log)
        except AdaptorTasksError as exc:
            return StepOutcome("exception", None, type(exc).__name__, self.scrubber.text(str(exc)))
        message = self.scrubber.text(result.error_message) if result.error_message else None
        return StepOutcome(str(result.exit_reason), result.state, result.error_type, message)

    def evaluate(self, expression: str, state: dict[str, Any]) -> bool:
        return self.pool.evaluate_condition(expression, state)

    def _log(self, entry: LogEntry) -> None:
        entry = dataclasses.replace(entry, message=self.scrubber.text(entry.message))
        self.logs.append(entry)
        if self.on_log is not None:
            self.on_log(entry)


def _scrubber(plan: ExecutionPlan, state: dict[str, Any]) -> Scrubber:
    """Masks the secret values of every configuration the run can see."""
    secrets: set[str] = set()
    for configuration in [
        state.get("configuration"),
        *(s.configuration for s in plan.steps.values()),
    ]:
        if isinstance(configuration, dict):
            secrets |= secret_values(configuration)
    return Scrubber(secrets)


def run_local(
    plan: ExecutionPlan,
    state: dict[str, Any],
    *,
    on_log: LogCallback | None = None,
    timeout_s: float | None = None,
    pool: NodePool | None = None,
) -> LocalRun:
    """Execute `plan` from `state`; `on_log` sees each (scrubbed) log line as it arrives.

    Without `pool`, a one-process pool is started for this run and closed after it.
    Raises LocalRunError when an adaptor cannot be resolved or installed.
    """
    adaptors = resolve_adaptors(plan)
    scrubber = _scrubber(plan, state)
    owned = pool is None
    if pool is None:
        settings = get_settings()
        pool = NodePool(
            1,
            step_timeout_s=settings.step_timeout_seconds,
            memory_limit_mb=settings.step_memory_limit_mb,
            state_limit_bytes=settings.state_limit_bytes,
        )
    try:
        executor = LocalExecutor(pool, adaptors, scrubber, on_log, timeout_s)
        result = walk(plan, state, executor)
    finally:
        if owned:
            pool.close()
    if result.error_message:
        result.error_message = scrubber.text(result.error_message)
    return LocalRun(plan=plan, walk=result, logs=executor.logs)
