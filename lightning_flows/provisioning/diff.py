"""What a provision changes in a project: the import preview and `deploy`'s diff."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from lightning_flows.projects.models import Project
from lightning_flows.provisioning.test_cases import export_cases
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.diff import FieldChange, WorkflowDiff, diff_workflows, render_text
from lightning_flows.workflows.models import Workflow


class ProjectDiff(BaseModel):
    project_id: str | None
    name: str
    change: Literal["added", "changed", "unchanged"]
    fields: list[FieldChange] = Field(default_factory=list)
    workflows: list[WorkflowDiff] = Field(default_factory=list)
    test_cases: list[str] = Field(
        default_factory=list, description='Test case changes, e.g. `+ test case "a" of "wf"`.'
    )

    @property
    def has_changes(self) -> bool:
        return self.change != "unchanged"


def capture(session: Session, project_id: uuid.UUID | None) -> dict[str, Any] | None:
    """The project and its live workflows as plain data, to compare before/after."""
    project = session.get(Project, project_id) if project_id else None
    if project is None:
        return None
    live = session.exec(
        select(Workflow)
        .where(Workflow.project_id == project.id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name))
    ).all()
    return {
        "id": str(project.id),
        "name": project.name,
        "description": project.description,
        "workflows": {
            str(wf.id): workflows.to_public(session, wf).model_dump(mode="json") for wf in live
        },
        "test_cases": {
            str(wf.id): (wf.name, export_cases(session, wf.id).get("test_cases", {})) for wf in live
        },
    }


def diff_projects(old: dict[str, Any] | None, new: dict[str, Any]) -> ProjectDiff:
    before = old or {"workflows": {}}
    fields = [
        FieldChange(field=f, old=before.get(f), new=new.get(f))
        for f in ("name", "description")
        if old is not None and before.get(f) != new.get(f)
    ]
    changed = []
    for wf_id in [
        *before["workflows"],
        *(w for w in new["workflows"] if w not in before["workflows"]),
    ]:
        diff = diff_workflows(before["workflows"].get(wf_id), new["workflows"].get(wf_id))
        if diff.change != "unchanged":
            changed.append(diff)
    cases = _test_case_changes(before.get("test_cases", {}), new.get("test_cases", {}))
    change: Literal["added", "changed", "unchanged"] = (
        "added" if old is None else "changed" if fields or changed or cases else "unchanged"
    )
    return ProjectDiff(
        project_id=new.get("id"),
        name=new["name"],
        change=change,
        fields=fields,
        workflows=changed,
        test_cases=cases,
    )


def _test_case_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = []
    for wf_id, (wf_name, new) in after.items():
        old: dict[str, Any] = (before.get(wf_id) or ("", {}))[1]
        for key in sorted({*old, *new}):
            mark = "+" if key not in old else "-" if key not in new else "~"
            if mark == "~" and old[key] == new[key]:
                continue
            name = (new.get(key) or old[key])["name"]
            lines.append(f'{mark} test case "{name}" of workflow "{wf_name}"')
    return lines


def render(diff: ProjectDiff) -> str:
    """The diff as text for a terminal (`lightning-flows deploy`)."""
    if not diff.has_changes:
        return f'No changes to project "{diff.name}".'
    verb = "New project" if diff.change == "added" else "Changes to project"
    lines = [f'{verb} "{diff.name}":']
    for f in diff.fields:
        lines.append(f"  {f.field}: {f.old!r} -> {f.new!r}")
    for wf in diff.workflows:
        lines += render_text(wf, indent="  ")
    lines += [f"  {line}" for line in diff.test_cases]
    return "\n".join(lines)
