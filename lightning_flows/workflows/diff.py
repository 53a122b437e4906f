"""What changed between two workflow documents (versions, or before/after a provision).

Items are matched by id, so a renamed job is "changed", not removed and added.
Job bodies are compared as unified text diffs.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, Field

Change = Literal["added", "removed", "changed", "unchanged"]
_JOB_FIELDS: tuple[str, ...] = ("name", "adaptor", "project_credential_id")
_TRIGGER_FIELDS: tuple[str, ...] = (
    *("type", "enabled", "cron_expression", "cron_timezone", "custom_path", "webhook_reply"),
)
_EDGE_FIELDS: tuple[str, ...] = (
    *("source", "target", "condition_type", "condition_expression", "condition_label", "enabled"),
)
_MARKS = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}


class FieldChange(BaseModel):
    field: str
    old: Any = None
    new: Any = None


class ItemChange(BaseModel):
    kind: Literal["job", "trigger", "edge"]
    id: str
    name: str
    change: Change
    fields: list[FieldChange] = Field(default_factory=list)
    body_diff: str | None = Field(default=None, description="Unified diff of a job's body.")


class WorkflowDiff(BaseModel):
    workflow_id: str | None
    name: str
    change: Change
    fields: list[FieldChange] = Field(default_factory=list)
    items: list[ItemChange] = Field(default_factory=list)

    def summary(self) -> str:
        """`+1 job, ~2 jobs, -1 edge` style counts of what changed."""
        counts: dict[tuple[str, str], int] = {}
        for item in self.items:
            counts[(item.change, item.kind)] = counts.get((item.change, item.kind), 0) + 1
        parts = [
            f"{_MARKS[change]}{n} {kind}{'s' if n > 1 else ''}"
            for (change, kind), n in counts.items()
        ]
        if self.fields:
            parts.insert(0, "~" + ", ".join(f.field for f in self.fields))
        return ", ".join(parts) or "no changes"


def diff_workflows(old: dict[str, Any] | None, new: dict[str, Any] | None) -> WorkflowDiff:
    """Compare two workflow documents (`WorkflowPublic` JSON or snapshot documents)."""
    ref = new or old or {}
    if old is None or new is None:
        change: Change = "added" if old is None else "removed"
    else:
        change = "changed"
    fields = _fields(old or {}, new or {}, ("name", "concurrency")) if old and new else []
    items = [
        *_items("job", old, new, _JOB_FIELDS),
        *_items("trigger", old, new, _TRIGGER_FIELDS),
        *_items("edge", old, new, _EDGE_FIELDS),
    ]
    if change == "changed" and not fields and not items:
        change = "unchanged"
    return WorkflowDiff(
        workflow_id=str(ref["id"]) if ref.get("id") else None,
        name=ref.get("name", ""),
        change=change,
        fields=fields,
        items=items,
    )


def _fields(old: dict[str, Any], new: dict[str, Any], names: tuple[str, ...]) -> list[FieldChange]:
    return [
        FieldChange(field=f, old=old.get(f), new=new.get(f))
        for f in names
        if old.get(f) != new.get(f)
    ]


def _items(
    kind: Literal["job", "trigger", "edge"],
    old_doc: dict[str, Any] | None,
    new_doc: dict[str, Any] | None,
    names: tuple[str, ...],
) -> list[ItemChange]:
    old = {str(i["id"]): _view(kind, i, old_doc or {}) for i in (old_doc or {}).get(f"{kind}s", [])}
    new = {str(i["id"]): _view(kind, i, new_doc or {}) for i in (new_doc or {}).get(f"{kind}s", [])}
    changes = []
    for item_id in [*old, *(i for i in new if i not in old)]:
        before, after = old.get(item_id), new.get(item_id)
        if before is None or after is None:
            shown = before or after or {}
            changes.append(
                ItemChange(
                    kind=kind,
                    id=item_id,
                    name=shown["label"],
                    change="added" if before is None else "removed",
                    body_diff=_body_diff(kind, before, after),
                )
            )
            continue
        fields = _fields(before, after, names)
        body = _body_diff(kind, before, after)
        if fields or body:
            changes.append(
                ItemChange(
                    kind=kind,
                    id=item_id,
                    name=after["label"],
                    change="changed",
                    fields=fields,
                    body_diff=body,
                )
            )
    return changes


def _view(kind: str, item: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """An item with what a person compares: edge ends by name, a display label."""
    view = dict(item)
    if kind == "job":
        view["label"] = item["name"]
    elif kind == "trigger":
        view["label"] = item["type"] + (
            f" /{item['custom_path']}" if item.get("custom_path") else ""
        )
    else:
        names = {str(j["id"]): j["name"] for j in doc.get("jobs", [])}
        triggers = {str(t["id"]): f"{t['type']} trigger" for t in doc.get("triggers", [])}
        source = item.get("source_job_id") or item.get("source_trigger_id")
        view["source"] = names.get(str(source)) or triggers.get(str(source), "?")
        view["target"] = names.get(str(item.get("target_job_id")), "?")
        view["label"] = f"{view['source']} -> {view['target']}"
    return view


def _body_diff(
    kind: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> str | None:
    if kind != "job":
        return None
    old_body, new_body = (before or {}).get("body", ""), (after or {}).get("body", "")
    if old_body == new_body:
        return None
    label = (after or before or {}).get("name", "job")
    lines = difflib.unified_diff(
        old_body.splitlines(keepends=True),
        new_body.splitlines(keepends=True),
        fromfile=f"{label} (before)",
        tofile=f"{label} (after)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def render_text(diff: WorkflowDiff, indent: str = "") -> list[str]:
    """Readable lines: `~ job "Transform": adaptor 'a' -> 'b'` and body diffs."""
    lines = [f'{indent}{_MARKS[diff.change]} workflow "{diff.name}"']
    for f in diff.fields:
        lines.append(f"{indent}    {f.field}: {f.old!r} -> {f.new!r}")
    for item in diff.items:
        detail = ", ".join(f"{f.field} {f.old!r} -> {f.new!r}" for f in item.fields)
        lines.append(
            f'{indent}  {_MARKS[item.change]} {item.kind} "{item.name}"'
            + (f": {detail}" if detail else "")
        )
        if item.body_diff:
            lines += [f"{indent}      {line}" for line in item.body_diff.splitlines()]
    return lines
