"""Pointing save errors at the node or edge they concern, and compile warnings at a line.

The workflows service reports problems with a `loc` such as `jobs[1].name` or
`edges[0] 'a -> b' (id ...)`; the index is the position in the document the
client sent, so it names the item's id for the canvas to mark.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from adaptor_tasks import AdaptorTasksError
from lightning_flows.core.errors import DomainError
from lightning_flows.core.node_runtime import get_pool, installed_adaptor
from lightning_flows.workflows.schemas import WorkflowPublic

_LOC = re.compile(r"^(jobs|triggers|edges)\[(\d+)\](?:\.(\w+))?")
_KINDS = {"jobs": "job", "triggers": "trigger", "edges": "edge"}
_PREFIXED = re.compile(r"^((?:jobs|triggers|edges)\[\d+\][.\w]*): (.+)$", re.DOTALL)


def locate(loc: str, document: dict[str, Any]) -> dict[str, Any] | None:
    """`{kind, id, field}` of the item a `loc` names, or None for workflow-level problems."""
    found = _LOC.match(loc)
    if found is None:
        return None
    items = document.get(found[1])
    index = int(found[2])
    if not isinstance(items, list) or index >= len(items) or not isinstance(items[index], dict):
        return None
    return {"kind": _KINDS[found[1]], "id": items[index].get("id"), "field": found[3]}


def _loc_text(parts: Sequence[int | str]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def located(problems: Iterable[dict[str, str]], document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**p, "target": locate(p.get("loc", ""), document)} for p in problems]


def from_validation(exc: ValidationError, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Pydantic's complaints about the document, in the service's `{loc, message}` shape."""
    problems = [{"loc": _loc_text(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    return located(problems, document)


def from_domain(exc: DomainError, document: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's `details`, or its message when it names a `loc` in front."""
    if isinstance(exc.details, list):
        return located([d for d in exc.details if isinstance(d, dict)], document)
    found = _PREFIXED.match(exc.message)
    problem = (
        {"loc": found[1], "message": found[2]} if found else {"loc": "", "message": exc.message}
    )
    return located([problem], document)


def compile_warnings(workflow: WorkflowPublic) -> list[dict[str, Any]]:
    """Compile every job body; syntax errors become warnings at their line (saving is allowed)."""
    warnings: list[dict[str, Any]] = []
    for job in workflow.jobs:
        if not job.body.strip():
            continue
        try:
            result = get_pool().compile(job.body, installed_adaptor(job.adaptor))
        except AdaptorTasksError as exc:
            warnings.append(
                {"job_id": str(job.id), "message": f"Could not check this job: {exc}", "line": None}
            )
            continue
        if not result.ok:
            warnings.append(
                {
                    "job_id": str(job.id),
                    "message": f"{result.error_type}: {result.error_message}",
                    "line": result.line,
                    "column": result.column,
                }
            )
    return warnings
