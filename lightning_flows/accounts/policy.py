"""The one place that decides who may do what (deny by default).

Every API route and page names an `Action` and asks `authorize`; an action
missing from the matrix is refused for everyone but superusers.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Session, select

from lightning_flows.accounts.models import User
from lightning_flows.core.errors import Forbidden, NotFound
from lightning_flows.projects.models import Project, ProjectUser, Role


class Action(StrEnum):
    READ_PROJECT = "read_project"
    UPDATE_PROJECT = "update_project"
    DELETE_PROJECT = "delete_project"
    READ_MEMBERS = "read_members"
    MANAGE_MEMBERS = "manage_members"
    READ_WORKFLOWS = "read_workflows"
    WRITE_WORKFLOWS = "write_workflows"
    RUN_WORKFLOWS = "run_workflows"
    READ_HISTORY = "read_history"
    MANAGE_WEBHOOK_AUTH = "manage_webhook_auth"
    USE_CREDENTIALS = "use_credentials"
    PROVISION = "provision"


_ALL = {Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER}
_WRITERS = {Role.OWNER, Role.ADMIN, Role.EDITOR}
_ADMINS = {Role.OWNER, Role.ADMIN}

MATRIX: dict[Action, set[Role]] = {
    Action.READ_PROJECT: _ALL,
    Action.UPDATE_PROJECT: _ADMINS,
    Action.DELETE_PROJECT: {Role.OWNER},
    Action.READ_MEMBERS: _ALL,
    Action.MANAGE_MEMBERS: _ADMINS,
    Action.READ_WORKFLOWS: _ALL,
    Action.WRITE_WORKFLOWS: _WRITERS,
    Action.RUN_WORKFLOWS: _WRITERS,
    Action.READ_HISTORY: _ALL,
    Action.MANAGE_WEBHOOK_AUTH: _ADMINS,
    Action.USE_CREDENTIALS: _WRITERS,
    Action.PROVISION: _ADMINS,
}


def is_allowed(role: Role | str | None, action: Action, *, superuser: bool = False) -> bool:
    """Whether a member with `role` may take `action` (pure; used by pages to hide controls)."""
    if superuser:
        return True
    return role is not None and Role(role) in MATRIX.get(action, set())


def authorize(
    session: Session, user: User, action: Action, project_id: uuid.UUID
) -> ProjectUser | None:
    """Allow `user` to take `action` in the project, or raise.

    Non-members get NotFound (a project's existence is not revealed); members
    whose role does not allow the action get Forbidden.
    """
    membership = session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == user.id
        )
    ).first()
    if user.is_superuser:
        if session.get(Project, project_id) is None:
            raise NotFound("Project not found.")
        return membership
    if membership is None or session.get(Project, project_id) is None:
        raise NotFound("Project not found.")
    if not is_allowed(membership.role, action):
        raise Forbidden(
            f"Your role '{membership.role}' in this project does not allow {action.value}."
        )
    return membership
