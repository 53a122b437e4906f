"""Projects and memberships: the projects context's public surface."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import OWNER_KEPT, check_role_change
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.core.pagination import Page, PageParams, paginate
from lightning_flows.limits.policy import check_limit_changes
from lightning_flows.limits.service import forget as forget_limits
from lightning_flows.projects.models import Project, ProjectUser, Role
from lightning_flows.projects.purge import purge_history
from lightning_flows.projects.schemas import (
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    ProjectCreate,
    ProjectUpdate,
)


def create_project(session: Session, data: ProjectCreate, owner: User) -> Project:
    """Create a project; its creator becomes its owner."""
    project = Project(**data.model_dump(mode="json"))
    session.add(project)
    session.flush()
    session.add(ProjectUser(project_id=project.id, user_id=owner.id, role=Role.OWNER.value))
    audit.record(session, "created", "project", project.id, owner.id, after={"name": project.name})
    session.commit()
    return project


def list_projects(session: Session, user: User, params: PageParams) -> Page[Any]:
    """Projects the user is a member of (every project for a superuser), by name."""
    statement = select(Project).order_by(col(Project.name), col(Project.id))
    if not user.is_superuser:
        statement = statement.join(ProjectUser).where(ProjectUser.user_id == user.id)
    return paginate(session, statement, params)


def get_project(session: Session, project_id: uuid.UUID) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("Project not found.")
    return project


def update_project(
    session: Session, project_id: uuid.UUID, data: ProjectUpdate, actor: User
) -> Project:
    project = get_project(session, project_id)
    changes = data.model_dump(mode="json", exclude_unset=True)
    check_limit_changes(changes, actor)
    before = {k: getattr(project, k) for k in changes}
    for key, value in changes.items():
        setattr(project, key, value)
    touch(project)
    audit.record(session, "updated", "project", project.id, actor.id, before=before, after=changes)
    session.commit()
    forget_limits(project.id)
    return project


def delete_project(session: Session, project_id: uuid.UUID, actor: User) -> None:
    """Delete a project and everything in it (workflows, history, memberships)."""
    project = get_project(session, project_id)
    audit.record(session, "deleted", "project", project.id, actor.id, before={"name": project.name})
    purge_history(session, project.id)
    session.delete(project)
    session.commit()


def list_members(session: Session, project_id: uuid.UUID) -> list[MemberPublic]:
    rows = session.exec(
        select(ProjectUser, User)
        .join(User, User.id == ProjectUser.user_id)  # type: ignore[arg-type]
        .where(ProjectUser.project_id == project_id)
        .order_by(col(User.email))
    ).all()
    return [_member(pu, user) for pu, user in rows]


def add_member(
    session: Session, project_id: uuid.UUID, data: MemberCreate, actor: User
) -> MemberPublic:
    _ceiling(session, project_id, actor, current=None, new=data.role)
    user = session.exec(select(User).where(User.email == data.email.lower())).first()
    if user is None:
        raise InvalidInput(f"No user with email {data.email}; they must have an account first.")
    member = ProjectUser(project_id=project_id, user_id=user.id, role=data.role.value)
    session.add(member)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{user.email} is already a member of this project.") from exc
    audit.record(
        session,
        "member_added",
        "project",
        project_id,
        actor.id,
        after={"user_id": str(user.id), "role": member.role},
    )
    session.commit()
    return _member(member, user)


def update_member(
    session: Session, project_id: uuid.UUID, user_id: uuid.UUID, data: MemberUpdate, actor: User
) -> MemberPublic:
    member, user = _get_member(session, project_id, user_id)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if changes.get("role", member.role) != member.role:
        _ceiling(session, project_id, actor, current=member.role, new=changes["role"])
    before = {k: getattr(member, k) for k in changes}
    for key, value in changes.items():
        setattr(member, key, value)
    touch(member)
    audit.record(
        session,
        "member_updated",
        "project",
        project_id,
        actor.id,
        before={"user_id": str(user_id), **before},
        after={"user_id": str(user_id), **changes},
    )
    session.commit()
    return _member(member, user)


def remove_member(session: Session, project_id: uuid.UUID, user_id: uuid.UUID, actor: User) -> None:
    member, _user = _get_member(session, project_id, user_id)
    if member.role == Role.OWNER:
        raise Conflict(OWNER_KEPT)
    _ceiling(session, project_id, actor, current=member.role, new=None)
    audit.record(
        session,
        "member_removed",
        "project",
        project_id,
        actor.id,
        before={"user_id": str(user_id), "role": member.role},
    )
    session.delete(member)
    session.commit()


def _get_member(
    session: Session, project_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[ProjectUser, User]:
    row = session.exec(
        select(ProjectUser, User)
        .join(User, User.id == ProjectUser.user_id)  # type: ignore[arg-type]
        .where(ProjectUser.project_id == project_id, ProjectUser.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound("That user is not a member of this project.")
    return row[0], row[1]


def _ceiling(
    session: Session, project_id: uuid.UUID, actor: User, *, current: str | None, new: str | None
) -> None:
    own = session.exec(
        select(ProjectUser.role).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == actor.id
        )
    ).first()
    check_role_change(own, superuser=actor.is_superuser, current=current, new=new)


def transfer_ownership(
    session: Session, project_id: uuid.UUID, user_id: uuid.UUID, actor: User
) -> MemberPublic:
    """Make a member the owner; the previous owner(s) become admins (owner only)."""
    member, user = _get_member(session, project_id, user_id)
    previous = session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project_id,
            ProjectUser.role == Role.OWNER.value,
            ProjectUser.user_id != user_id,
        )
    ).all()
    for owner in previous:
        owner.role = Role.ADMIN.value
        touch(owner)
    member.role = Role.OWNER.value
    touch(member)
    audit.record(
        session,
        "ownership_transferred",
        "project",
        project_id,
        actor.id,
        before={"owners": [str(o.user_id) for o in previous]},
        after={"owner": str(user_id)},
    )
    session.commit()
    return _member(member, user)


def _member(member: ProjectUser, user: User) -> MemberPublic:
    return MemberPublic(
        id=member.id,
        user_id=user.id,
        email=user.email,
        role=Role(member.role),
        failure_alert=member.failure_alert,
        digest=member.digest,  # type: ignore[arg-type]
        inserted_at=member.inserted_at,
    )
