"""`/api/projects` and their members."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.core.pagination import Page
from lightning_flows.projects import service
from lightning_flows.projects.schemas import (
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    OwnershipTransfer,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("", response_model=Page[ProjectPublic])
def list_projects(session: SessionDep, user: CurrentUser, page: PageDep) -> Page[ProjectPublic]:
    return service.list_projects(session, user, page)


@router.post("", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED)
def create_project(session: SessionDep, user: CurrentUser, data: ProjectCreate) -> object:
    return service.create_project(session, data, user)


@router.get("/{project_id}", response_model=ProjectPublic)
def get_project(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    authorize(session, user, Action.READ_PROJECT, project_id)
    return service.get_project(session, project_id)


@router.patch("/{project_id}", response_model=ProjectPublic)
def update_project(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: ProjectUpdate
) -> object:
    authorize(session, user, Action.UPDATE_PROJECT, project_id)
    return service.update_project(session, project_id, data, user)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> None:
    authorize(session, user, Action.DELETE_PROJECT, project_id)
    service.delete_project(session, project_id, user)


@router.get("/{project_id}/users", response_model=list[MemberPublic])
def list_members(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    authorize(session, user, Action.READ_MEMBERS, project_id)
    return service.list_members(session, project_id)


@router.post("/{project_id}/users", response_model=MemberPublic, status_code=201)
def add_member(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: MemberCreate
) -> object:
    authorize(session, user, Action.MANAGE_MEMBERS, project_id)
    return service.add_member(session, project_id, data, user)


@router.patch("/{project_id}/users/{user_id}", response_model=MemberPublic)
def update_member(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    data: MemberUpdate,
) -> object:
    authorize(session, user, Action.MANAGE_MEMBERS, project_id)
    return service.update_member(session, project_id, user_id, data, user)


@router.delete("/{project_id}/users/{user_id}", status_code=204)
def remove_member(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    authorize(session, user, Action.MANAGE_MEMBERS, project_id)
    service.remove_member(session, project_id, user_id, user)


@router.post("/{project_id}/owner", response_model=MemberPublic)
def transfer_ownership(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: OwnershipTransfer
) -> object:
    """Make another member the owner (owner only); the previous owner becomes an admin."""
    authorize(session, user, Action.TRANSFER_OWNERSHIP, project_id)
    return service.transfer_ownership(session, project_id, data.user_id, user)
