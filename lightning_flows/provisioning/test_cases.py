"""A workflow's `test_cases` in a project document (a Lightning Flows extension that
OpenFn's tools ignore): exported with the workflow, applied by provisioning.

```yaml
workflows:
  orders:
    test_cases:
      order-5:
        name: order 5
        input: failing order 5        # a named dataclip of the project
        input_body: {data: {id: 5}}   # its body, so the file also works on a new instance
        expected_data: {id: 5, ok: true}
        assertion: state.data.ok === true
```

With `test_cases` present, a workflow's cases become exactly those listed (matched
by name); without it they are left as they are. An `input` the project does not
have is created from `input_body`; an existing one is used as stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from lightning_flows.projects.models import Project
from lightning_flows.provisioning.spec import ProjectSpec, hyphenate, normalize
from lightning_flows.runs import dataclips
from lightning_flows.runs.models import Dataclip
from lightning_flows.testing import service as cases
from lightning_flows.testing.schemas import TestCaseWrite
from lightning_flows.workflows.models import Workflow

Doc = dict[str, Any]


class TestCaseSpec(BaseModel):
    """One entry of `workflows.<key>.test_cases`."""

    __test__ = False
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=255)
    input: str = Field(min_length=1, max_length=255, description="A named dataclip's name.")
    input_body: Any = None
    expected_data: Any = None
    assertion: str | None = Field(default=None, max_length=10_000)


def export_cases(session: Session, workflow_id: uuid.UUID) -> Doc:
    """`{"test_cases": {...}}` for a workflow's state entry, or `{}` when it has none."""
    entries: Doc = {}
    for case in cases.list_cases(session, workflow_id):
        clip = session.get(Dataclip, case.input_dataclip_id) if case.input_dataclip_id else None
        entry: Doc = {"name": case.name, "input": clip.name if clip else None}
        if clip is not None and clip.wiped_at is None:
            entry["input_body"] = clip.body
        if case.has_expected_data:
            entry["expected_data"] = case.expected_data
        if case.assertion:
            entry["assertion"] = case.assertion
        entries[hyphenate(case.name)] = entry
    return {"test_cases": dict(sorted(entries.items()))} if entries else {}


@dataclass
class _Entry:
    name: str
    spec: TestCaseSpec
    has_expected: bool


@dataclass
class TestCasesPlan:
    """The validated test cases of each workflow key that lists them."""

    __test__ = False

    by_key: dict[str, list[_Entry]] = field(default_factory=dict)

    def write(
        self, session: Session, project_id: uuid.UUID, workflow_ids: dict[str, uuid.UUID]
    ) -> None:
        for key, entries in self.by_key.items():
            workflow = session.get(Workflow, workflow_ids.get(key))
            if workflow is not None:
                _sync(session, project_id, workflow, entries)


def plan_test_cases(
    session: Session, project: Project | None, raw: Doc, spec: ProjectSpec, problems: list[Doc]
) -> TestCasesPlan:
    """Read and check every `test_cases` of the raw document; problems are appended."""
    plan = TestCasesPlan()
    raw_workflows = normalize(raw).get("workflows")
    for key in spec.workflows:
        raw_cases = (raw_workflows if isinstance(raw_workflows, dict) else {}).get(key) or {}
        if not isinstance(raw_cases, dict) or "test_cases" not in raw_cases:
            continue
        path = f"workflows.{key}.test_cases"
        listed = raw_cases["test_cases"] or {}
        if not isinstance(listed, dict):
            problems.append({"loc": path, "message": "test_cases is a mapping of key -> case"})
            continue
        entries = []
        for case_key, value in listed.items():
            try:
                entry = TestCaseSpec.model_validate(value)
            except ValueError as exc:
                problems.append({"loc": f"{path}.{case_key}", "message": str(exc).splitlines()[-1]})
                continue
            has_expected = isinstance(value, dict) and "expected_data" in value
            if not has_expected and not entry.assertion:
                problems.append(
                    {
                        "loc": f"{path}.{case_key}",
                        "message": "give an expected_data or an assertion (or both)",
                    }
                )
                continue
            known = project and dataclips.find_named(session, project.id, entry.input)
            if not known and "input_body" not in value:
                problems.append(
                    {
                        "loc": f"{path}.{case_key}.input",
                        "message": f"the project has no dataclip named '{entry.input}': "
                        "add its input_body",
                    }
                )
                continue
            entries.append(_Entry(entry.name or case_key, entry, has_expected))
        plan.by_key[key] = entries
    return plan


def _sync(
    session: Session,
    project_id: uuid.UUID,
    workflow: Workflow,
    entries: list[_Entry],
) -> None:
    existing = {c.name: c for c in cases.list_cases(session, workflow.id)}
    wanted = {entry.name for entry in entries}
    for name, case in existing.items():
        if name not in wanted:
            session.delete(case)
    session.flush()
    for entry in entries:
        spec = entry.spec
        if dataclips.find_named(session, project_id, spec.input) is None:
            dataclips.create_named(session, project_id, spec.input, spec.input_body)
        fields: Doc = {"name": entry.name, "input": spec.input, "assertion": spec.assertion}
        if entry.has_expected:
            fields["expected_data"] = spec.expected_data
        data = TestCaseWrite.model_validate(fields)
        cases.save_case(session, workflow, data, existing.get(entry.name), commit=False)
