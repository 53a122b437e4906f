"""Who may reach a collection through the collections API, and which one a name means.

A run token opens the collections of its run's project only; a personal access
token opens those of the caller's projects, by role (viewers read, editors and
above write). A name is looked up in the caller's projects; when it exists in
several, the caller passes `project_id` (409 otherwise), as Lightning answers.
Anything the caller may not see is a 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lightning_flows.accounts import service as accounts
from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.collections import service, tokens
from lightning_flows.core.errors import Conflict, NotFound, Unauthenticated
from lightning_flows.projects.models import ProjectUser
from lightning_flows.projects.spec_models import Collection


@dataclass(frozen=True)
class Caller:
    """A run (by its token) or a user (by a personal access token)."""

    user: User | None = None
    grant: tokens.RunGrant | None = None

    @property
    def actor_id(self) -> uuid.UUID | None:
        return self.user.id if self.user else None

    @property
    def via(self) -> str:
        return f"run {self.grant.run_id}" if self.grant else "api"


def authenticate(session: Session, token: str | None) -> Caller:
    if not token:
        raise Unauthenticated(
            "Send a token: 'Authorization: Bearer <collections_token or personal access token>'."
        )
    if tokens.is_run_token(token):
        return Caller(grant=tokens.verify(token))
    return Caller(user=accounts.authenticate_token(session, token))


def resolve(
    session: Session, caller: Caller, name: str, project_id: uuid.UUID | None, action: Action
) -> Collection:
    """The collection `name` the caller may take `action` on, or NotFound/Conflict."""
    missing = NotFound(f"Collection '{name}' does not exist")
    if caller.grant is not None:
        if project_id is not None and project_id != caller.grant.project_id:
            raise missing
        found = service.find(session, caller.grant.project_id, name)
        if found is None:
            raise missing
        return found
    assert caller.user is not None  # noqa: S101  # nosec B101
    if project_id is not None:
        try:
            authorize(session, caller.user, action, project_id)
        except NotFound as exc:
            raise missing from exc
        found = service.find(session, project_id, name)
        if found is None:
            raise missing
        return found
    statement = select(Collection).where(Collection.name == name)
    if not caller.user.is_superuser:
        mine = select(ProjectUser.project_id).where(ProjectUser.user_id == caller.user.id)
        statement = statement.where(col(Collection.project_id).in_(mine))
    rows = list(session.exec(statement.limit(2)).all())
    if not rows:
        raise missing
    if len(rows) > 1:
        raise Conflict(
            f"Collection '{name}' exists in several of your projects: "
            "pass ?project_id=<project id> (or set configuration.project_id in the job)."
        )
    authorize(session, caller.user, action, rows[0].project_id)
    return rows[0]
