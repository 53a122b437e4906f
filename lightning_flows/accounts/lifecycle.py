"""Disabling, enabling and deleting accounts.

Deleting a user purges them: their credentials (jobs using those lose them,
each recorded in the audit trail), tokens, sessions, memberships and the user
row with their name and email. Audit events keep only ids.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lightning_flows.accounts import sessions
from lightning_flows.accounts.models import User
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict
from lightning_flows.projects.models import Project, ProjectUser, Role


def set_disabled(session: Session, user: User, disabled: bool, actor: User) -> User:
    """Disable (signs out everywhere; tokens stop working) or re-enable an account."""
    if disabled and user.id == actor.id:
        raise Conflict("You cannot disable your own account; ask another superuser.")
    if user.disabled != disabled:
        user.disabled = disabled
        session.add(user)
        if disabled:
            sessions.end_all_sessions(session, user.id)
        audit.record(session, "disabled" if disabled else "enabled", "user", user.id, actor.id)
        session.commit()
    return user


def set_superuser(session: Session, user: User, superuser: bool, actor: User) -> User:
    if user.is_superuser != superuser:
        if not superuser and user.id == actor.id:
            raise Conflict("You cannot remove your own superuser role; ask another superuser.")
        user.is_superuser = superuser
        session.add(user)
        audit.record(
            session,
            "updated",
            "user",
            user.id,
            actor.id,
            before={"is_superuser": not superuser},
            after={"is_superuser": superuser},
        )
        session.commit()
    return user


def delete_user(session: Session, user: User, actor: User) -> None:
    """Purge a user and what is theirs; refused while they are a project's only owner."""
    from lightning_flows.credentials.service import purge_owned_by

    sole = _solely_owned_projects(session, user)
    if sole:
        raise Conflict(
            f"{user.email} is the only owner of {', '.join(sorted(sole))}: make someone "
            "else owner of (or delete) those projects first."
        )
    actor_id = None if actor.id == user.id else actor.id
    purged = purge_owned_by(session, user, actor_id)
    audit.record(
        session, "deleted", "user", user.id, actor_id, details={"credentials_purged": purged}
    )
    sessions.end_all_sessions(session, user.id)
    session.delete(user)  # tokens, sessions, memberships and emailed tokens cascade
    session.commit()


def _solely_owned_projects(session: Session, user: User) -> list[str]:
    owned = select(ProjectUser.project_id).where(
        ProjectUser.user_id == user.id, ProjectUser.role == Role.OWNER.value
    )
    other_owners = (
        select(func.count())
        .select_from(ProjectUser)
        .where(
            ProjectUser.project_id == Project.id,
            ProjectUser.role == Role.OWNER.value,
            ProjectUser.user_id != user.id,
        )
        .scalar_subquery()
    )
    rows = session.exec(
        select(Project.name).where(col(Project.id).in_(owned), other_owners == 0)
    ).all()
    return list(rows)
