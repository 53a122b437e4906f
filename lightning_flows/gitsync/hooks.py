"""When git sync pushes: after every committed workflow save/delete and every provision.

A provision publishes one event per workflow; those are skipped here and the
provision is pushed as ONE commit by the after-provision hook instead.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from lightning_flows.audit.models import AuditEvent
from lightning_flows.core.db import get_engine
from lightning_flows.gitsync.models import RepoConnection
from lightning_flows.gitsync.service import push_project
from lightning_flows.provisioning import service as provisioning
from lightning_flows.workflows import events, versions
from lightning_flows.workflows.models import Workflow


def enable() -> None:
    """Start pushing changes of linked projects (idempotent; the app factory calls it)."""
    events.subscribe(on_workflow_changed)
    provisioning.on_provisioned(on_provisioned)


def on_workflow_changed(event: events.WorkflowChanged) -> None:
    if provisioning.publishing():
        return
    with Session(get_engine()) as session:
        linked = session.exec(
            select(RepoConnection.id).where(RepoConnection.project_id == event.project_id)
        ).first()
        workflow = session.get(Workflow, event.workflow_id)
        if linked is None or workflow is None:
            return
        actor, message = _describe(session, event, workflow)
    push_project(event.project_id, actor, message)


def on_provisioned(outcome: provisioning.Outcome, via: str) -> None:
    message = f"Provision ({via}): {outcome.summary}"
    push_project(outcome.project.id, outcome.actor.id, message, keys_from=outcome.state)


def _describe(
    session: Session, event: events.WorkflowChanged, workflow: Workflow
) -> tuple[uuid.UUID | None, str]:
    if event.kind == "deleted":
        audit = session.exec(
            select(AuditEvent)
            .where(AuditEvent.item_id == workflow.id, AuditEvent.event == "deleted")
            .order_by(col(AuditEvent.inserted_at).desc())
        ).first()
        return (audit.actor_id if audit else None), f"Delete workflow '{workflow.name}'"
    latest = versions.latest_versions(session, workflow.id, limit=1)
    if not latest:
        return None, f"Update workflow '{workflow.name}'"
    version = latest[0]
    verb = "Create" if version.lock_version == 1 else "Update"
    return version.author_id, (
        f"{verb} workflow '{workflow.name}' (version {version.short_hash}, {version.source.value})"
    )
