"""Workflow templates: the gallery (`GET /api/templates`), saving a workflow as a
template, and starting a workflow from one
(`POST /api/projects/{id}/workflows/from_template`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from lightning_flows.accounts.policy import Action, authorize, require_superuser
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.templates import service
from lightning_flows.templates.schemas import (
    TemplateCreate,
    TemplatePublic,
    WorkflowFromTemplate,
)
from lightning_flows.workflows.schemas import WorkflowPublic

router = APIRouter(tags=["templates"])


@router.get("/api/templates", response_model=list[TemplatePublic])
def list_templates(
    session: SessionDep,
    user: CurrentUser,
    project_id: Annotated[
        uuid.UUID | None, Query(description="Include this project's own templates")
    ] = None,
) -> object:
    """Built-in and instance templates, and the project's when `project_id` is given."""
    if project_id is not None:
        authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return [t.public() for t in service.list_templates(session, project_id)]


@router.get("/api/templates/{template_id}", response_model=TemplatePublic)
def get_template(
    session: SessionDep,
    user: CurrentUser,
    template_id: uuid.UUID,
) -> object:
    owner = service.template_project(session, template_id)
    if owner is not None:
        authorize(session, user, Action.READ_WORKFLOWS, owner)
    return service.get_template(session, template_id, owner).public()


@router.delete("/api/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_template(session: SessionDep, user: CurrentUser, template_id: uuid.UUID) -> None:
    """A project template: its project's editors; an instance template: superusers."""
    owner = service.template_project(session, template_id)
    if owner is not None:
        authorize(session, user, Action.WRITE_WORKFLOWS, owner)
    elif not any(t.id == template_id for t in service.builtin_templates()):
        require_superuser(user)
    service.delete_template(session, user, template_id)


@router.post(
    "/api/projects/{project_id}/templates",
    response_model=TemplatePublic,
    status_code=status.HTTP_201_CREATED,
)
def save_template(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: TemplateCreate
) -> object:
    """Save one of the project's workflows as a template (`scope: instance`: superusers)."""
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    template = service.save_template(
        session, user, project_id, data.workflow_id, data.name, data.description, data.scope
    )
    return template.public()


@router.post(
    "/api/projects/{project_id}/workflows/from_template",
    response_model=WorkflowPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_from_template(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: WorkflowFromTemplate
) -> object:
    """A new workflow of the project, named `name`, built from the template's spec."""
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    return service.create_from_template(session, project_id, data.template_id, data.name, user.id)
