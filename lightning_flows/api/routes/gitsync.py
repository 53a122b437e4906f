"""`/api/projects/{project_id}/repo` (git link) and `/sync` (pull the branch and provision).

`POST /sync` takes a personal access token (owner/admin), or, as an inbound
webhook from the git host, the link's secret: GitHub's `X-Hub-Signature-256`
(HMAC-SHA256 of the body) or GitLab's `X-Gitlab-Token`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep, get_current_user
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import Forbidden, Unauthenticated
from lightning_flows.gitsync import service as gitsync
from lightning_flows.gitsync.models import GitAuthType, RepoConnection

router = APIRouter(prefix="/api/projects/{project_id}", tags=["git sync"])
_bearer = HTTPBearer(auto_error=False)


class RepoPublic(BaseModel):
    project_id: uuid.UUID
    remote_url: str
    branch: str
    auth_type: GitAuthType
    has_secret: bool
    last_synced_commit: str | None
    last_synced_at: datetime | None
    last_error: str | None
    webhook_url: str


class RepoLinked(RepoPublic):
    webhook_secret: str


class SyncResult(BaseModel):
    commit: str
    up_to_date: bool
    changed: dict[str, list[str]]
    state: dict[str, Any]


def _public(conn: RepoConnection) -> dict[str, Any]:
    return {
        **conn.model_dump(exclude={"secret", "webhook_secret", "auth_type"}),
        "auth_type": GitAuthType(conn.auth_type),
        "has_secret": bool(conn.secret),
        "webhook_url": f"{get_settings().public_url}/api/projects/{conn.project_id}/sync",
    }


@router.put("/repo", response_model=RepoLinked)
def link_repo(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: gitsync.RepoLink
) -> object:
    """Link the project to a branch and push it there; the webhook secret is shown once."""
    authorize(session, user, Action.PROVISION, project_id)
    conn, webhook_secret = gitsync.link(session, project_id, data, user)
    return {**_public(conn), "webhook_secret": webhook_secret}


@router.get("/repo", response_model=RepoPublic)
def get_repo(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    """The link and how the last sync went (`last_error` says why a push was skipped)."""
    authorize(session, user, Action.READ_PROJECT, project_id)
    return _public(gitsync.get_connection(session, project_id))


@router.delete("/repo", status_code=status.HTTP_204_NO_CONTENT)
def unlink_repo(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> None:
    authorize(session, user, Action.PROVISION, project_id)
    gitsync.unlink(session, project_id, user)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def sync_actor(
    request: Request,
    session: SessionDep,
    project_id: uuid.UUID,
    body: Annotated[bytes, Depends(_raw_body)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """Who syncs: the token's user, or (webhook) the person who linked the repository."""
    signature = request.headers.get("x-hub-signature-256") or request.headers.get("x-gitlab-token")
    if not signature:
        user = get_current_user(request=request, session=session, credentials=credentials)
        authorize(session, user, Action.PROVISION, project_id)
        return user
    conn = session.exec(
        select(RepoConnection).where(RepoConnection.project_id == project_id)
    ).first()
    if conn is None or not conn.webhook_secret or not _signed(request, body, conn.webhook_secret):
        raise Unauthenticated("Invalid webhook signature (or a project without a git link).")
    actor = session.get(User, conn.created_by_id) if conn.created_by_id else None
    if actor is None:
        raise Forbidden("The person who linked this repository is gone; link it again.")
    authorize(session, actor, Action.PROVISION, project_id)
    return actor


def _signed(request: Request, body: bytes, secret: str) -> bool:
    token = request.headers.get("x-gitlab-token")
    if token is not None:
        return hmac.compare_digest(token, secret)
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers.get("x-hub-signature-256", ""), expected)


@router.post("/sync", response_model=SyncResult)
def sync(
    session: SessionDep,
    project_id: uuid.UUID,
    actor: Annotated[User, Depends(sync_actor)],
) -> object:
    """Pull the linked branch and provision it (409 when the branch has diverged)."""
    result = gitsync.pull_project(session, project_id, actor)
    return SyncResult(
        commit=result.commit,
        up_to_date=result.up_to_date,
        changed=result.changed,
        state=result.state,
    )
