"""Storing a workflow's test cases (`/api/workflows/{id}/test_cases`)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.runs import dataclips
from lightning_flows.runs.models import Dataclip
from lightning_flows.testing.models import WorkflowTestCase
from lightning_flows.testing.schemas import TestCasePublic, TestCaseWrite
from lightning_flows.workflows.models import Workflow


def list_cases(session: Session, workflow_id: uuid.UUID) -> list[WorkflowTestCase]:
    return list(
        session.exec(
            select(WorkflowTestCase)
            .where(WorkflowTestCase.workflow_id == workflow_id)
            .order_by(col(WorkflowTestCase.name))
        ).all()
    )


def get_case(session: Session, workflow_id: uuid.UUID, case_id: uuid.UUID) -> WorkflowTestCase:
    case = session.get(WorkflowTestCase, case_id)
    if case is None or case.workflow_id != workflow_id:
        raise NotFound("Test case not found.")
    return case


def to_public(session: Session, case: WorkflowTestCase) -> TestCasePublic:
    clip = session.get(Dataclip, case.input_dataclip_id) if case.input_dataclip_id else None
    return TestCasePublic.model_validate(
        {**case.model_dump(), "input": clip.name if clip else None}
    )


def resolve_input(session: Session, project_id: uuid.UUID, data: TestCaseWrite) -> Dataclip:
    """The named dataclip of the project a test case reads."""
    if data.input_dataclip_id is not None:
        clip = session.get(Dataclip, data.input_dataclip_id)
        if clip is None or clip.project_id != project_id:
            raise NotFound("input_dataclip_id: no such dataclip in this project.")
        if clip.name is None:
            raise InvalidInput(
                "input_dataclip_id: name the dataclip first (PATCH /api/dataclips/{id} "
                '{"name": ...}) so it is kept past data retention.'
            )
        return clip
    clip = dataclips.find_named(session, project_id, data.input or "")
    if clip is None:
        raise InvalidInput(f"input: this project has no dataclip named '{data.input}'.")
    return clip


def save_case(
    session: Session,
    workflow: Workflow,
    data: TestCaseWrite,
    case: WorkflowTestCase | None = None,
    *,
    commit: bool = True,
) -> WorkflowTestCase:
    """Create (`case` None) or replace a test case; 409 if its name is taken."""
    clip = resolve_input(session, workflow.project_id, data)
    case = case or WorkflowTestCase(workflow_id=workflow.id, name=data.name)
    case.name = data.name.strip()
    case.input_dataclip_id = clip.id
    case.has_expected_data = "expected_data" in data.model_fields_set
    case.expected_data = data.expected_data if case.has_expected_data else None
    case.assertion = (data.assertion or "").strip() or None
    touch(case)
    session.add(case)
    try:
        session.flush()
        if commit:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"This workflow already has a test case named '{case.name}'.") from exc
    return case


def delete_case(session: Session, case: WorkflowTestCase) -> None:
    session.delete(case)
    session.commit()
