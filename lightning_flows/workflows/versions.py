"""Version history of a workflow: list, diff two versions, restore one as a new version.

Every save writes an immutable snapshot and a version (hash, source, author).
Restoring saves the old snapshot's graph as a new version; runs keep pointing
at the snapshot they ran with, so history and retries are unaffected.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import NotFound
from lightning_flows.core.pagination import Page, PageParams, paginate
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.diff import WorkflowDiff, diff_workflows
from lightning_flows.workflows.models import VersionSource, WorkflowSnapshot, WorkflowVersion
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic

SHORT_HASH = 7


class VersionPublic(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    snapshot_id: uuid.UUID
    hash: str
    short_hash: str
    lock_version: int
    source: VersionSource
    author_id: uuid.UUID | None
    author_email: str | None
    inserted_at: datetime


class VersionDiff(BaseModel):
    from_version: VersionPublic
    to_version: VersionPublic
    diff: WorkflowDiff


def _rows(session: Session, workflow_id: uuid.UUID) -> Any:
    return (
        select(WorkflowVersion, WorkflowSnapshot, User)
        .join(WorkflowSnapshot, WorkflowSnapshot.id == WorkflowVersion.snapshot_id)  # type: ignore[arg-type]
        .outerjoin(User, User.id == WorkflowVersion.author_id)  # type: ignore[arg-type]
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(
            col(WorkflowSnapshot.lock_version).desc(), col(WorkflowVersion.inserted_at).desc()
        )
    )


def _public(row: tuple[WorkflowVersion, WorkflowSnapshot, User | None]) -> VersionPublic:
    version, snapshot, author = row
    return VersionPublic(
        id=version.id,
        workflow_id=version.workflow_id,
        snapshot_id=snapshot.id,
        hash=version.hash,
        short_hash=version.hash[:SHORT_HASH],
        lock_version=snapshot.lock_version,
        source=VersionSource(version.source),
        author_id=version.author_id,
        author_email=author.email if author else None,
        inserted_at=version.inserted_at,
    )


def list_versions(
    session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID, params: PageParams
) -> Page[Any]:
    """A workflow's versions, newest first."""
    workflows.get_workflow(session, project_id, workflow_id)
    page = paginate(session, _rows(session, workflow_id), params)
    page.items = [_public(row) for row in page.items]
    return page


def get_version(
    session: Session, project_id: uuid.UUID, workflow_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[VersionPublic, WorkflowSnapshot]:
    workflows.get_workflow(session, project_id, workflow_id)
    row = session.exec(_rows(session, workflow_id).where(WorkflowVersion.id == version_id)).first()
    if row is None:
        raise NotFound("Version not found.")
    return _public(row), row[1]


def latest_versions(
    session: Session, workflow_id: uuid.UUID, limit: int = 2
) -> list[VersionPublic]:
    """The newest versions of a workflow (for notifications and links)."""
    return [_public(row) for row in session.exec(_rows(session, workflow_id).limit(limit)).all()]


def diff_versions(
    session: Session,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    from_id: uuid.UUID,
    to_id: uuid.UUID | None = None,
) -> VersionDiff:
    """What changed from one version to another (default: to the latest)."""
    old, old_snapshot = get_version(session, project_id, workflow_id, from_id)
    if to_id is None:
        latest = latest_versions(session, workflow_id, limit=1)
        to_id = latest[0].id
    new, new_snapshot = get_version(session, project_id, workflow_id, to_id)
    return VersionDiff(
        from_version=old,
        to_version=new,
        diff=diff_workflows(old_snapshot.document, new_snapshot.document),
    )


def restore_version(
    session: Session,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> WorkflowPublic:
    """Save an old version's graph as the newest version (ids are kept)."""
    version, snapshot = get_version(session, project_id, workflow_id, version_id)
    doc = WorkflowDocument.model_validate({**snapshot.document, "lock_version": None})
    audit.record(
        session,
        "restored",
        "workflow",
        workflow_id,
        actor_id,
        details={"version_id": str(version.id), "hash": version.hash},
    )
    return workflows.update_workflow(session, project_id, workflow_id, doc, actor_id)


def diff_url(
    base_url: str,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    to: VersionPublic,
    since: VersionPublic | None,
) -> str:
    """The page showing a change (the builder's history view)."""
    url = f"{base_url}/projects/{project_id}/w/{workflow_id}/history?to={to.id}"
    return url + (f"&from={since.id}" if since else "")
