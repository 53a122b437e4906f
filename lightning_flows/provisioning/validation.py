"""Checking a resolved workflow graph with the workflow rules, in document terms.

The graph is validated by `workflows.graph` (the rules every save obeys) and
its adaptors pinned; each problem's location there (`jobs[2].name`) is mapped
back to the document path it came from (`workflows.<key>.jobs.<key>.name`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from lightning_flows.core.errors import InvalidInput
from lightning_flows.workflows.adaptors import pin_adaptor
from lightning_flows.workflows.graph import validate_document
from lightning_flows.workflows.schemas import WorkflowDocument

_GRAPH_LOC = re.compile(r"^(jobs|triggers|edges)\[(\d+)\](?:\.(\w+))?")


@dataclass
class Problem:
    loc: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "message": self.message}


@dataclass
class GraphPlan:
    """The graph a workflow spec resolves to, with each item's document path and key."""

    doc: WorkflowDocument
    locs: dict[uuid.UUID, str] = field(default_factory=dict)
    hints: dict[uuid.UUID, str] = field(default_factory=dict)


def validate_graph(plan: GraphPlan, path: str) -> list[Problem]:
    """Problems of the graph (by document path); pins the adaptors when there are none."""
    try:
        validate_document(plan.doc)
    except InvalidInput as exc:
        return [Problem(_spec_loc(plan, path, d["loc"]), d["message"]) for d in exc.details or []]
    problems = []
    for job in plan.doc.jobs:
        loc = f"{plan.locs.get(job.id, path)}.adaptor"  # type: ignore[arg-type]
        try:
            written, job.adaptor = job.adaptor, pin_adaptor(job.adaptor, loc)
            if job.adaptor != written:  # `@latest` as written; the snapshot gets the pin
                job.adaptor_requested = written
        except InvalidInput as exc:
            problems.append(Problem(loc, exc.message.removeprefix(f"{loc}: ")))
    return problems


def _spec_loc(plan: GraphPlan, path: str, graph_loc: str) -> str:
    """`jobs[2].name` -> `workflows.<key>.jobs.<job key>.name`."""
    match = _GRAPH_LOC.match(graph_loc)
    if not match:
        return path
    kind, index, attr = match.group(1), int(match.group(2)), match.group(3)
    items: list[Any] = getattr(plan.doc, kind)
    item_id = items[index].id if index < len(items) else None
    base = plan.locs.get(item_id, f"{path}.{kind}")  # type: ignore[arg-type]
    return f"{base}.{attr}" if attr and attr != "id" else base
