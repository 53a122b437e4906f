"""Trying code on real inputs: run one step alone, and a workflow's test cases.

- `POST /api/workflows/{workflow_id}/jobs/{job_id}/run`: one step on a dataclip or a
  given input (the saved code, or the unsaved code in `job`), answered synchronously.
- `/api/workflows/{workflow_id}/test_cases[/{id}]`: test cases CRUD;
  `POST .../test_cases/run` runs them (on the saved version, or on `{"document"}`).
- `POST /api/projects/{project_id}/test_cases/run`: every workflow's (`lightning-flows test`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlmodel import Session

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.errors import NotFound
from lightning_flows.testing import runner, service
from lightning_flows.testing.execution import draft_document
from lightning_flows.testing.schemas import (
    DraftTestRequest,
    StepRunRequest,
    StepRunResult,
    TestCasePublic,
    TestCaseWrite,
    TestRunResult,
)
from lightning_flows.testing.step_run import run_step
from lightning_flows.workflows.models import Workflow

router = APIRouter(tags=["test cases"])
CASES = "/api/workflows/{workflow_id}/test_cases"


def _workflow(session: Session, user: User, workflow_id: uuid.UUID, action: Action) -> Workflow:
    """A live workflow the user may act on; a non-member sees 404 as for an unknown id."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None or workflow.deleted_at is not None:
        raise NotFound("Workflow not found.")
    authorize(session, user, action, workflow.project_id)
    return workflow


@router.post("/api/workflows/{workflow_id}/jobs/{job_id}/run", response_model=StepRunResult)
def run_one_step(
    session: SessionDep,
    user: CurrentUser,
    workflow_id: uuid.UUID,
    job_id: uuid.UUID,
    data: StepRunRequest,
) -> StepRunResult:
    """Run one step alone on an input and answer its output state and (scrubbed) logs.
    Nothing is recorded in history."""
    workflow = _workflow(session, user, workflow_id, Action.RUN_WORKFLOWS)
    return run_step(session, workflow, job_id, data)


@router.get(CASES, response_model=list[TestCasePublic])
def list_test_cases(
    session: SessionDep, user: CurrentUser, workflow_id: uuid.UUID
) -> list[TestCasePublic]:
    _workflow(session, user, workflow_id, Action.READ_WORKFLOWS)
    return [service.to_public(session, c) for c in service.list_cases(session, workflow_id)]


@router.post(CASES, response_model=TestCasePublic, status_code=status.HTTP_201_CREATED)
def create_test_case(
    session: SessionDep, user: CurrentUser, workflow_id: uuid.UUID, data: TestCaseWrite
) -> TestCasePublic:
    """A named input of the project and the expected `data` and/or a JS assertion."""
    workflow = _workflow(session, user, workflow_id, Action.WRITE_WORKFLOWS)
    return service.to_public(session, service.save_case(session, workflow, data))


@router.post(CASES + "/run", response_model=TestRunResult)
def run_test_cases(
    session: SessionDep,
    user: CurrentUser,
    workflow_id: uuid.UUID,
    data: DraftTestRequest | None = None,
) -> TestRunResult:
    """Run the workflow's test cases on its latest saved version, or on `document` (the
    editor's unsaved one)."""
    workflow = _workflow(session, user, workflow_id, Action.RUN_WORKFLOWS)
    document = draft_document(data.document) if data is not None else None
    return runner.summary(runner.run_cases(session, workflow, document))


@router.get(CASES + "/{case_id}", response_model=TestCasePublic)
def get_test_case(
    session: SessionDep, user: CurrentUser, workflow_id: uuid.UUID, case_id: uuid.UUID
) -> TestCasePublic:
    _workflow(session, user, workflow_id, Action.READ_WORKFLOWS)
    return service.to_public(session, service.get_case(session, workflow_id, case_id))


@router.put(CASES + "/{case_id}", response_model=TestCasePublic)
def replace_test_case(
    session: SessionDep,
    user: CurrentUser,
    workflow_id: uuid.UUID,
    case_id: uuid.UUID,
    data: TestCaseWrite,
) -> TestCasePublic:
    workflow = _workflow(session, user, workflow_id, Action.WRITE_WORKFLOWS)
    case = service.get_case(session, workflow_id, case_id)
    return service.to_public(session, service.save_case(session, workflow, data, case))


@router.delete(CASES + "/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_test_case(
    session: SessionDep, user: CurrentUser, workflow_id: uuid.UUID, case_id: uuid.UUID
) -> Response:
    _workflow(session, user, workflow_id, Action.WRITE_WORKFLOWS)
    service.delete_case(session, service.get_case(session, workflow_id, case_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/projects/{project_id}/test_cases/run", response_model=TestRunResult)
def run_project_test_cases(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID
) -> TestRunResult:
    """Every test case of the project's workflows, on their latest saved versions."""
    authorize(session, user, Action.RUN_WORKFLOWS, project_id)
    return runner.run_project(session, project_id)
