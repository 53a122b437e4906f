"""Workflow history: versions (list, diff, restore) and the caller's change alerts.

`/api/projects/{project_id}/workflows/{workflow_id}/versions...` and
`/api/projects/{project_id}/notifications`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.core.pagination import Page
from lightning_flows.notifications import workflow_changes
from lightning_flows.workflows import versions
from lightning_flows.workflows.schemas import WorkflowPublic

router = APIRouter(
    prefix="/api/projects/{project_id}/workflows/{workflow_id}/versions", tags=["versions"]
)
alerts_router = APIRouter(prefix="/api/projects/{project_id}/notifications", tags=["versions"])


class VersionDetail(BaseModel):
    version: versions.VersionPublic
    document: dict[str, Any]


@router.get("", response_model=Page[versions.VersionPublic])
def list_versions(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    page: PageDep,
) -> object:
    """Every saved version, newest first (short hash, source app|cli, author, time)."""
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return versions.list_versions(session, project_id, workflow_id, page)


@router.get("/diff", response_model=versions.VersionDiff)
def diff_versions(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    from_version: Annotated[uuid.UUID, Query(alias="from", description="The older version.")],
    to_version: Annotated[
        uuid.UUID | None, Query(alias="to", description="The newer version (default: latest).")
    ] = None,
) -> object:
    """Jobs, triggers and edges added, removed or changed, with job body text diffs."""
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    return versions.diff_versions(session, project_id, workflow_id, from_version, to_version)


@router.get("/{version_id}", response_model=VersionDetail)
def get_version(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version_id: uuid.UUID,
) -> VersionDetail:
    """One version and the workflow document it saved."""
    authorize(session, user, Action.READ_WORKFLOWS, project_id)
    version, snapshot = versions.get_version(session, project_id, workflow_id, version_id)
    return VersionDetail(version=version, document=snapshot.document)


@router.post(
    "/{version_id}/restore", response_model=WorkflowPublic, status_code=status.HTTP_201_CREATED
)
def restore_version(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version_id: uuid.UUID,
) -> object:
    """Save this version's graph as the newest version (earlier runs keep their snapshot)."""
    authorize(session, user, Action.WRITE_WORKFLOWS, project_id)
    return versions.restore_version(session, project_id, workflow_id, version_id, user.id)


class NotificationSettings(BaseModel):
    workflow_change_alert: bool


@alerts_router.get("", response_model=NotificationSettings)
def get_notification_settings(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID
) -> object:
    authorize(session, user, Action.READ_PROJECT, project_id)
    return workflow_changes.member_preference(session, project_id, user)


@alerts_router.put("", response_model=NotificationSettings)
def update_notification_settings(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: NotificationSettings
) -> object:
    """Opt in (or out) of an email whenever a workflow of this project changes."""
    authorize(session, user, Action.READ_PROJECT, project_id)
    return workflow_changes.set_workflow_change_alert(
        session, project_id, user, data.workflow_change_alert
    )
