"""Validation of a workflow graph: OpenFn's rules, checked before anything is written."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import InvalidInput
from lightning_flows.workflows.models import ConditionType, TriggerType
from lightning_flows.workflows.schemas import EdgeDoc, WorkflowDocument

CUSTOM_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TRIGGER_CONDITIONS = {ConditionType.ALWAYS, ConditionType.JS_EXPRESSION}


@dataclass
class GraphProblem:
    loc: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "message": self.message}


def validate_document(doc: WorkflowDocument) -> None:
    """Raise InvalidInput listing every problem; ids must already be assigned."""
    problems = list(_problems(doc))
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"Invalid workflow: {first.loc}: {first.message}",
            details=[p.as_dict() for p in problems],
        )


def _problems(doc: WorkflowDocument) -> list[GraphProblem]:
    limit = get_settings().workflow_max_jobs
    if len(doc.jobs) > limit:
        message = f"{len(doc.jobs):,} jobs; a workflow may have at most {limit:,}"
        return [GraphProblem("jobs", f"{message} (LIGHTNING_WORKFLOW_MAX_JOBS)")]
    problems: list[GraphProblem] = []
    names: dict[str, int] = {}
    for i, job in enumerate(doc.jobs):
        if job.name in names:
            problems.append(GraphProblem(f"jobs[{i}].name", f"duplicate job name '{job.name}'"))
        names[job.name] = i
    seen_ids: set[uuid.UUID | None] = set()
    groups: tuple[tuple[str, list[Any]], ...] = (
        ("jobs", doc.jobs),
        ("triggers", doc.triggers),
        ("edges", doc.edges),
    )
    for kind, items in groups:
        for i, item in enumerate(items):
            if item.id in seen_ids:
                problems.append(GraphProblem(f"{kind}[{i}].id", f"id {item.id} is used twice"))
            seen_ids.add(item.id)
    job_ids = {j.id for j in doc.jobs}
    problems += _trigger_problems(doc, job_ids)
    problems += _edge_problems(doc)
    if not problems:
        problems += _cycle_problems(doc)
    return problems


KAFKA_NOT_YET = (
    "Kafka triggers are stored but not consumed yet on this platform: save it with enabled: false"
)


def _trigger_problems(doc: WorkflowDocument, job_ids: set[uuid.UUID | None]) -> list[GraphProblem]:
    problems = []
    for i, trig in enumerate(doc.triggers):
        loc = f"triggers[{i}]"
        if trig.type == TriggerType.CRON:
            if not trig.cron_expression or not croniter.is_valid(trig.cron_expression):
                problems.append(
                    GraphProblem(
                        f"{loc}.cron_expression",
                        f"'{trig.cron_expression or ''}' is not a valid cron expression "
                        "(five fields: minute hour day-of-month month day-of-week)",
                    )
                )
            try:
                ZoneInfo(trig.cron_timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(
                    GraphProblem(f"{loc}.cron_timezone", f"unknown timezone '{trig.cron_timezone}'")
                )
        elif trig.cron_expression:
            problems.append(
                GraphProblem(f"{loc}.cron_expression", "only cron triggers take a cron expression")
            )
        if trig.custom_path is not None and not CUSTOM_PATH.match(trig.custom_path):
            problems.append(
                GraphProblem(
                    f"{loc}.custom_path",
                    "use letters, digits, '-', '_' and '.' only (no slashes or spaces)",
                )
            )
        if trig.type == TriggerType.KAFKA and trig.enabled:
            problems.append(GraphProblem(f"{loc}.enabled", KAFKA_NOT_YET))
        if trig.cron_cursor_job_id is not None and trig.cron_cursor_job_id not in job_ids:
            problems.append(GraphProblem(f"{loc}.cron_cursor_job_id", "not a job of this workflow"))
    return problems


def describe_edge(doc: WorkflowDocument, edge: EdgeDoc) -> str:
    """A human name for an edge: 'source -> target'."""
    job_names = {j.id: j.name for j in doc.jobs}
    trig_names = {t.id: f"{t.type.value} trigger" for t in doc.triggers}
    source = job_names.get(edge.source_job_id) or trig_names.get(edge.source_trigger_id)
    target = job_names.get(edge.target_job_id, f"unknown job {edge.target_job_id}")
    return f"'{source or 'unknown source'} -> {target}'"


def _edge_problems(doc: WorkflowDocument) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    job_ids = {j.id for j in doc.jobs}
    trigger_ids = {t.id for t in doc.triggers}
    # Several edges may lead into one job (Lightning's validator allows it): the
    # job then runs once for each incoming edge that fires, as OpenFn's runtime does.
    for i, edge in enumerate(doc.edges):
        loc = f"edges[{i}] {describe_edge(doc, edge)} (id {edge.id})"

        def bad(message: str, loc: str = loc) -> None:
            problems.append(GraphProblem(loc, message))

        if (edge.source_job_id is None) == (edge.source_trigger_id is None):
            bad("an edge needs exactly one source: source_job_id or source_trigger_id")
        if edge.source_job_id is not None and edge.source_job_id not in job_ids:
            bad(f"source job {edge.source_job_id} is not in this workflow")
        if edge.source_trigger_id is not None and edge.source_trigger_id not in trigger_ids:
            bad(f"source trigger {edge.source_trigger_id} is not in this workflow")
        if edge.target_job_id not in job_ids:
            bad(f"target job {edge.target_job_id} is not in this workflow")
        if edge.source_job_id is not None and edge.source_job_id == edge.target_job_id:
            bad("a job cannot be its own target")
        if edge.source_trigger_id is not None and edge.condition_type not in TRIGGER_CONDITIONS:
            bad("an edge from a trigger must be 'always' or 'js_expression'")
        if (
            edge.condition_type == ConditionType.JS_EXPRESSION
            and not (edge.condition_expression or "").strip()
        ):
            bad("a js_expression edge needs a condition_expression")
    return problems


def _cycle_problems(doc: WorkflowDocument) -> list[GraphProblem]:
    """The first edge closing a cycle, found by an iterative depth-first search (a
    recursive one overflowed Python's stack at about a thousand chained jobs)."""
    children: dict[uuid.UUID, list[tuple[int, uuid.UUID]]] = {}
    for i, edge in enumerate(doc.edges):
        if edge.source_job_id is not None:
            children.setdefault(edge.source_job_id, []).append((i, edge.target_job_id))
    state: dict[uuid.UUID, int] = {}  # 1 = on the current path, 2 = done
    for job in doc.jobs:
        if job.id is None or job.id in state:
            continue
        state[job.id] = 1
        stack = [(job.id, iter(children.get(job.id, [])))]
        while stack:
            node, pending = stack[-1]
            for i, child in pending:
                if state.get(child) == 1:
                    edge = doc.edges[i]
                    return [
                        GraphProblem(
                            f"edges[{i}] {describe_edge(doc, edge)} (id {edge.id})",
                            "this edge closes a cycle; workflows must be acyclic",
                        )
                    ]
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(children.get(child, []))))
                    break
            else:
                state[node] = 2
                stack.pop()
    return []
