"""`/api/projects/{id}/webhook_auth_methods` and the methods a trigger requires."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.webhooks import auth_methods as service
from lightning_flows.webhooks.auth_methods import (
    AuthMethodCreate,
    AuthMethodPublic,
    AuthMethodUpdate,
)

router = APIRouter(prefix="/api/projects/{project_id}", tags=["webhook auth"])


class TriggerAuthMethods(BaseModel):
    webhook_auth_method_ids: list[uuid.UUID]


@router.get("/webhook_auth_methods", response_model=list[AuthMethodPublic])
def list_methods(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return service.list_methods(session, project_id)


@router.post(
    "/webhook_auth_methods", response_model=AuthMethodPublic, status_code=status.HTTP_201_CREATED
)
def create_method(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: AuthMethodCreate
) -> object:
    authorize(session, user, Action.MANAGE_WEBHOOK_AUTH, project_id)
    return service.create_method(session, project_id, data, user.id)


@router.patch("/webhook_auth_methods/{method_id}", response_model=AuthMethodPublic)
def update_method(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    method_id: uuid.UUID,
    data: AuthMethodUpdate,
) -> object:
    authorize(session, user, Action.MANAGE_WEBHOOK_AUTH, project_id)
    return service.update_method(session, project_id, method_id, data, user.id)


@router.delete("/webhook_auth_methods/{method_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_method(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, method_id: uuid.UUID
) -> None:
    authorize(session, user, Action.MANAGE_WEBHOOK_AUTH, project_id)
    service.delete_method(session, project_id, method_id, user.id)


@router.put("/triggers/{trigger_id}/webhook_auth_methods", response_model=TriggerAuthMethods)
def set_trigger_methods(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    trigger_id: uuid.UUID,
    data: TriggerAuthMethods,
) -> object:
    authorize(session, user, Action.MANAGE_WEBHOOK_AUTH, project_id)
    ids = service.set_trigger_methods(
        session, project_id, trigger_id, data.webhook_auth_method_ids, user.id
    )
    return TriggerAuthMethods(webhook_auth_method_ids=ids)
