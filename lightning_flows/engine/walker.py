"""Walking a plan with OpenFn's semantics, independent of how a step is executed.

Steps run breadth-first, one at a time. A failed step records
`state.errors[stepId]` and its edges are still evaluated, so
`on_job_failure` paths run. Crash, kill and exception end the run at once.
The run's result is the first `fail` on a leaf step, otherwise success.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from lightning_flows.engine.execution_plan import (
    ALWAYS,
    JS,
    ON_FAILURE,
    ON_SUCCESS,
    ExecutionPlan,
    PlanEdge,
    PlanStep,
)

FATAL = {"crash": "crashed", "kill": "killed", "exception": "exception", "cancel": "cancelled"}


@dataclass
class StepOutcome:
    exit_reason: str
    state: dict[str, Any] | None
    error_type: str | None = None
    error_message: str | None = None


class StepExecutor(Protocol):
    """What the walker needs: run a step, evaluate a JS edge condition."""

    def run_step(
        self, step: PlanStep, state: dict[str, Any], parent: str | None
    ) -> StepOutcome: ...

    def evaluate(self, expression: str, state: dict[str, Any]) -> bool: ...


class EdgeConditionError(Exception):
    """A js_expression edge threw; the run crashes naming the edge."""


@dataclass
class WalkResult:
    """`state` is the run state name; `final_state` the last leaf's output."""

    state: str
    final_state: dict[str, Any] | None
    error_type: str | None = None
    error_message: str | None = None
    executed: list[tuple[str, StepOutcome]] = field(default_factory=list)
    leaves: list[str] = field(default_factory=list)


def walk(plan: ExecutionPlan, initial_state: dict[str, Any], executor: StepExecutor) -> WalkResult:
    """Execute `plan` from its start node and decide the run's final state."""
    result = WalkResult(state="success", final_state=initial_state)
    queue: deque[tuple[str, dict[str, Any], str | None]] = deque()
    try:
        if plan.start in plan.steps:
            queue.append((plan.start, initial_state, None))
        else:
            queue.extend(
                (edge.target, copy.deepcopy(initial_state), None)
                for edge in _taken(plan, plan.start, initial_state, executor)
            )
        while queue:
            node, state, parent = queue.popleft()
            outcome = executor.run_step(plan.steps[node], state, parent)
            result.executed.append((node, outcome))
            if outcome.exit_reason in FATAL:
                return _fatal(result, outcome)
            out_state = outcome.state if outcome.state is not None else {}
            children = _taken(plan, node, out_state, executor)
            if not children:
                result.leaves.append(node)
                result.final_state = out_state
            for edge in children:
                queue.append((edge.target, copy.deepcopy(out_state), node))
    except EdgeConditionError as exc:
        result.state, result.error_type, result.error_message = (
            "crashed",
            "EdgeConditionError",
            str(exc),
        )
        return result
    for node, outcome in result.executed:
        if node in result.leaves and outcome.exit_reason == "fail":
            result.state = "failed"
            result.error_type, result.error_message = outcome.error_type, outcome.error_message
            break
    return result


def _fatal(result: WalkResult, outcome: StepOutcome) -> WalkResult:
    result.state = FATAL[outcome.exit_reason]
    result.error_type, result.error_message = outcome.error_type, outcome.error_message
    result.final_state = outcome.state
    return result


def _taken(
    plan: ExecutionPlan, node: str, state: dict[str, Any], executor: StepExecutor
) -> list[PlanEdge]:
    return [e for e in plan.outgoing(node) if _edge_passes(plan, e, state, executor)]


def _edge_passes(
    plan: ExecutionPlan, edge: PlanEdge, state: dict[str, Any], executor: StepExecutor
) -> bool:
    errors = state.get("errors") or {}
    failed = isinstance(errors, dict) and edge.source in errors
    if edge.condition == ALWAYS:
        return True
    if edge.condition == ON_SUCCESS:
        return not failed
    if edge.condition == ON_FAILURE:
        return failed
    if edge.condition == JS:
        try:
            return executor.evaluate(edge.expression or "", state)
        except Exception as exc:
            raise EdgeConditionError(
                f"The condition of edge '{edge.describe(plan)}' threw: {exc}"
            ) from exc
    raise EdgeConditionError(
        f"Unknown condition type '{edge.condition}' on '{edge.describe(plan)}'"
    )
