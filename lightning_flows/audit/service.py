"""Recording audit events inside the caller's transaction, and reading them back.

Who sees what (`GET /api/audit`): a superuser sees every event. Anyone else sees
the events of the projects they are a member of (any role), the events about
their own account (logins, tokens, MFA), the events of credentials they own,
and the events they caused themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.audit.models import AuditEvent
from lightning_flows.core.pagination import Page, PageParams, paginate


def record(
    session: Session,
    event: str,
    item_type: str,
    item_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    project_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits with the change it describes.

    Callers pass field names and non-secret values only: never a secret. The
    project is found from the item when not given (projects, workflows,
    triggers, webhook auth methods).
    """
    row = AuditEvent(
        event=event,
        item_type=item_type,
        item_id=item_id,
        actor_id=actor_id,
        project_id=project_id or _project_of(session, item_type, item_id),
        changes={"before": before or {}, "after": after or {}},
        details=details or {},
    )
    session.add(row)
    return row


def _project_of(session: Session, item_type: str, item_id: uuid.UUID) -> uuid.UUID | None:
    from lightning_flows.credentials.models import WebhookAuthMethod
    from lightning_flows.workflows.models import Trigger, Workflow

    if item_type == "project":
        return item_id
    with session.no_autoflush:
        if item_type == "workflow":
            workflow = session.get(Workflow, item_id)
            return workflow.project_id if workflow else None
        if item_type == "webhook_auth_method":
            method = session.get(WebhookAuthMethod, item_id)
            return method.project_id if method else None
        if item_type == "trigger":
            trigger = session.get(Trigger, item_id)
            workflow = session.get(Workflow, trigger.workflow_id) if trigger else None
            return workflow.project_id if workflow else None
    return None


def list_events(
    session: Session,
    viewer: User,
    params: PageParams,
    *,
    item_type: str | None = None,
    item_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    event: str | None = None,
) -> Page[Any]:
    """Events visible to `viewer`, newest first, optionally filtered."""
    statement = select(AuditEvent).order_by(col(AuditEvent.inserted_at).desc(), col(AuditEvent.id))
    if not viewer.is_superuser:
        statement = statement.where(_visible_to(viewer))
    for column, value in (
        (AuditEvent.item_type, item_type),
        (AuditEvent.item_id, item_id),
        (AuditEvent.project_id, project_id),
        (AuditEvent.event, event),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return paginate(session, statement, params)


def _visible_to(viewer: User) -> Any:
    from lightning_flows.credentials.models import Credential
    from lightning_flows.projects.models import ProjectUser

    my_projects = select(ProjectUser.project_id).where(ProjectUser.user_id == viewer.id)
    my_credentials = select(Credential.id).where(Credential.user_id == viewer.id)
    return or_(
        col(AuditEvent.project_id).in_(my_projects),
        (col(AuditEvent.item_type) == "user") & (col(AuditEvent.item_id) == viewer.id),
        (col(AuditEvent.item_type) == "credential") & col(AuditEvent.item_id).in_(my_credentials),
        col(AuditEvent.actor_id) == viewer.id,
    )
