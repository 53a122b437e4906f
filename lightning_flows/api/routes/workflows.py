"""`/api/projects/{project_id}/workflows`: whole-document workflow CRUD."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.core.pagination import Page
from lightning_flows.workflows import service
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic

router = APIRouter(prefix="/api/projects/{project_id}/workflows", tags=["workflows"])


@router.get("", response_model=Page[WorkflowPublic])
def list_workflows(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, page: PageDep
) -> object:
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return service.list_workflows(session, project_id, page)


@router.post("", response_model=WorkflowPublic, status_code=status.HTTP_201_CREATED)
def create_workflow(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, doc: WorkflowDocument
) -> object:
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    return service.create_workflow(session, project_id, doc, user.id)


@router.get("/{workflow_id}", response_model=WorkflowPublic)
def get_workflow(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, workflow_id: uuid.UUID
) -> object:
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return service.to_public(session, service.get_workflow(session, project_id, workflow_id))


@router.put("/{workflow_id}", response_model=WorkflowPublic)
def replace_workflow(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    doc: WorkflowDocument,
) -> object:
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    return service.update_workflow(session, project_id, workflow_id, doc, user.id)


@router.delete("/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workflow(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, workflow_id: uuid.UUID
) -> None:
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    service.delete_workflow(session, project_id, workflow_id, user.id)
