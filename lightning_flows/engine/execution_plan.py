"""Execution plans: the graph a run walks, built from a snapshot or an OpenFn plan file.

A plan is storage-independent so the Prefect flow and `lightning-flows run`
share one walker. Node ids are strings; a trigger is a node with no job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightning_flows.core.errors import InvalidInput
from lightning_flows.engine.retries import RetryPolicy

ALWAYS, ON_SUCCESS, ON_FAILURE, JS = "always", "on_job_success", "on_job_failure", "js_expression"
_SHORTHANDS = {ALWAYS, ON_SUCCESS, ON_FAILURE, "never"}


@dataclass(frozen=True)
class PlanStep:
    id: str
    name: str
    adaptor: str
    body: str
    project_credential_id: str | None = None
    configuration: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class PlanEdge:
    source: str
    target: str
    condition: str = ALWAYS
    expression: str | None = None
    enabled: bool = True
    label: str | None = None

    def describe(self, plan: ExecutionPlan) -> str:
        return f"{plan.name_of(self.source)} -> {plan.name_of(self.target)}"


@dataclass(frozen=True)
class ExecutionPlan:
    steps: dict[str, PlanStep]
    edges: list[PlanEdge]
    start: str
    triggers: frozenset[str] = field(default_factory=frozenset)

    def outgoing(self, node: str) -> list[PlanEdge]:
        return [e for e in self.edges if e.source == node and e.enabled]

    def name_of(self, node: str) -> str:
        step = self.steps.get(node)
        return step.name if step else "trigger"


def plan_from_snapshot(
    document: dict[str, Any], *, trigger_id: str | None = None, job_id: str | None = None
) -> ExecutionPlan:
    """The plan of a stored workflow snapshot, starting at a trigger or a job."""
    steps = {
        j["id"]: PlanStep(
            id=j["id"],
            name=j["name"],
            adaptor=j["adaptor"],
            body=j["body"],
            project_credential_id=j.get("project_credential_id"),
            retry=RetryPolicy.of_job(j),
        )
        for j in document["jobs"]
    }
    edges = [
        PlanEdge(
            source=e["source_job_id"] or e["source_trigger_id"],
            target=e["target_job_id"],
            condition=e["condition_type"],
            expression=e.get("condition_expression"),
            enabled=e.get("enabled", True),
            label=e.get("condition_label"),
        )
        for e in document["edges"]
    ]
    start = job_id or trigger_id
    if start is None:
        raise InvalidInput("A run starts from a trigger or a job.")
    triggers = frozenset(t["id"] for t in document["triggers"])
    if start not in steps and start not in triggers:
        raise InvalidInput(f"Start node {start} is not part of this workflow.")
    return ExecutionPlan(steps=steps, edges=edges, start=start, triggers=triggers)


def plan_from_openfn(document: dict[str, Any], base_dir: Path) -> ExecutionPlan:
    """Read OpenFn's execution-plan JSON (`{"workflow": {"steps": [...]}, "options": {...}}`).

    `expression` may be inline code or a path relative to the plan file; a step
    without an expression is a trigger.
    """
    workflow = document.get("workflow", document)
    raw_steps = workflow.get("steps") or workflow.get("jobs")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InvalidInput("The workflow has no steps: expected {'workflow': {'steps': [...]}}.")
    steps: dict[str, PlanStep] = {}
    triggers: set[str] = set()
    edges: list[PlanEdge] = []
    for i, raw in enumerate(raw_steps):
        step_id = str(raw.get("id") or raw.get("name") or f"step-{i + 1}")
        expression = raw.get("expression")
        if expression is None:
            triggers.add(step_id)
        else:
            steps[step_id] = PlanStep(
                id=step_id,
                name=str(raw.get("name") or step_id),
                adaptor=raw.get("adaptor") or raw.get("adaptors", ["common"])[0],
                body=_expression(expression, base_dir),
                configuration=_json_or_path(raw.get("configuration"), base_dir),
                state=_json_or_path(raw.get("state"), base_dir),
            )
        edges += _openfn_edges(step_id, raw.get("next"))
    known = set(steps) | triggers
    for edge in edges:
        if edge.target not in known:
            raise InvalidInput(f"Step '{edge.source}' points at unknown step '{edge.target}'.")
    start = (document.get("options") or {}).get("start") or str(
        raw_steps[0].get("id") or raw_steps[0].get("name") or "step-1"
    )
    if start not in known:
        raise InvalidInput(f"options.start names unknown step '{start}'.")
    return ExecutionPlan(steps=steps, edges=edges, start=start, triggers=frozenset(triggers))


def _openfn_edges(source: str, next_: Any) -> list[PlanEdge]:
    if next_ is None:
        return []
    if isinstance(next_, str):
        return [PlanEdge(source=source, target=next_)]
    edges = []
    for target, rule in dict(next_).items():
        if rule is True:
            edges.append(PlanEdge(source=source, target=target))
        elif rule is False:
            edges.append(PlanEdge(source=source, target=target, enabled=False))
        elif isinstance(rule, str):
            edges.append(_condition_edge(source, target, rule, True, None))
        elif isinstance(rule, dict):
            edges.append(
                _condition_edge(
                    source,
                    target,
                    rule.get("condition", ALWAYS),
                    not rule.get("disabled", False),
                    rule.get("label"),
                )
            )
        else:
            raise InvalidInput(f"Unsupported edge rule for '{source}' -> '{target}': {rule!r}")
    return edges


def _condition_edge(
    source: str, target: str, condition: Any, enabled: bool, label: str | None
) -> PlanEdge:
    if condition is True or condition == ALWAYS:
        return PlanEdge(source, target, ALWAYS, None, enabled, label)
    if condition == "never" or condition is False:
        return PlanEdge(source, target, ALWAYS, None, False, label)
    if condition in _SHORTHANDS:
        return PlanEdge(source, target, str(condition), None, enabled, label)
    return PlanEdge(source, target, JS, str(condition), enabled, label)


def _expression(value: str, base_dir: Path) -> str:
    candidate = base_dir / value
    if "\n" not in value and len(value) < 4096 and value.endswith((".js", ".mjs")):
        if not candidate.is_file():
            raise InvalidInput(f"Expression file not found: {candidate}")
        return candidate.read_text()
    return value


def _json_or_path(value: Any, base_dir: Path) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    path = base_dir / str(value)
    if not path.is_file():
        raise InvalidInput(f"File not found: {path}")
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise InvalidInput(f"{path} must hold a JSON object.")
    return loaded
