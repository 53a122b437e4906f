"""The one place that decides who may do what (deny by default).

Every project-scoped API route and page names an `Action` and asks `authorize`;
an action missing from the matrix is refused for everyone but superusers.
Instance administration asks `require_superuser`; what a user owns (their
credentials, tokens, profile) is checked by its service against the owner.
`tests/api/test_policy_matrix.py` holds every route to one of these rules.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlmodel import Session, select

from lightning_flows.accounts.models import User
from lightning_flows.core.errors import Conflict, Forbidden, NotFound
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
    READ_CREDENTIALS = "read_credentials"
    PROVISION = "provision"
    TRANSFER_OWNERSHIP = "transfer_ownership"
    READ_COLLECTIONS = "read_collections"
    WRITE_COLLECTIONS = "write_collections"


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
    Action.READ_CREDENTIALS: _ALL,
    Action.PROVISION: _ADMINS,
    Action.TRANSFER_OWNERSHIP: {Role.OWNER},
    Action.READ_COLLECTIONS: _ALL,
    Action.WRITE_COLLECTIONS: _WRITERS,
}
RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}
OWNER_KEPT = (
    "The owner cannot be removed or demoted: a project must keep at least one owner. "
    "The owner transfers ownership first (POST /api/projects/{project_id}/owner)."
)


def grantable_roles(role: Role | str | None, *, superuser: bool) -> list[Role]:
    """The roles `role` may give by invitation or change: its own and below, never owner."""
    ceiling = RANK[Role.OWNER] if superuser else RANK[Role(role)] if role else -1
    return [r for r in Role if r != Role.OWNER and RANK[r] <= ceiling]


def check_role_change(
    actor_role: Role | str | None,
    *,
    superuser: bool,
    current: Role | str | None,
    new: Role | str | None,
) -> None:
    """The role ceiling: nobody grants, changes or removes a role above their own, and
    the owner role moves only by a transfer of ownership. `current` is None when a
    member is added, `new` None when one is removed or only their settings change."""
    ceiling = RANK[Role.OWNER] if superuser else RANK[Role(actor_role)] if actor_role else -1
    if current is not None and Role(current) == Role.OWNER and new not in (None, Role.OWNER):
        raise Conflict(OWNER_KEPT)
    if new is not None and Role(new) == Role.OWNER and current != Role.OWNER:
        raise Forbidden(
            "Nobody is made owner by an invitation or a role change: the owner transfers "
            "ownership (POST /api/projects/{project_id}/owner)."
        )
    if current is not None and RANK[Role(current)] > ceiling:
        raise Forbidden(f"You cannot change or remove a '{current}', a role above your own.")
    if new is not None and RANK[Role(new)] > ceiling:
        raise Forbidden(f"You cannot grant the role '{new}', which is above your own.")


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
    whose role does not allow the action get Forbidden, and so does anyone
    (superusers too) without MFA in a project that requires it.
    """
    project = session.get(Project, project_id)
    membership = session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == user.id
        )
    ).first()
    if project is None or (membership is None and not user.is_superuser):
        raise NotFound("Project not found.")
    if project.requires_mfa and not user.mfa_enabled:
        raise Forbidden(
            "This project requires multi-factor authentication: "
            "enable it on your profile page (/profile) first."
        )
    if user.is_superuser:
        return membership
    assert membership is not None  # noqa: S101  # nosec B101
    if not is_allowed(membership.role, action):
        raise Forbidden(
            f"Your role '{membership.role}' in this project does not allow {action.value}."
        )
    return membership


def require_superuser(user: User) -> None:
    """Instance administration (users, settings, SSO providers) is for superusers only."""
    if not user.is_superuser:
        raise Forbidden("Only a superuser can do this.")
