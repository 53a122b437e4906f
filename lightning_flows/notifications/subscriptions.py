"""Who wants which alerts: a member's failure alert scope and digest, the project's
alert webhook."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.notifications.models import AlertWebhook
from lightning_flows.notifications.schemas import (
    AlertSettings,
    AlertSettingsUpdate,
    AlertWebhookPublic,
)
from lightning_flows.projects.models import Digest, ProjectUser
from lightning_flows.workflows.models import Workflow


def _membership(session: Session, project_id: uuid.UUID, user: User) -> ProjectUser:
    member = session.exec(
        select(ProjectUser).where(
            ProjectUser.project_id == project_id, ProjectUser.user_id == user.id
        )
    ).first()
    if member is None:
        raise NotFound("You are not a member of this project, so you have no alert settings.")
    return member


def _public(member: ProjectUser) -> AlertSettings:
    ids = member.failure_alert_workflow_ids
    return AlertSettings(
        enabled=member.failure_alert,
        workflow_ids=None if ids is None else [uuid.UUID(i) for i in ids],
        digest=Digest(member.digest),
    )


def get_settings_of(session: Session, project_id: uuid.UUID, user: User) -> AlertSettings:
    """The caller's failure alert and digest settings in the project."""
    return _public(_membership(session, project_id, user))


def update_settings(
    session: Session, project_id: uuid.UUID, user: User, data: AlertSettingsUpdate
) -> AlertSettings:
    """Change the caller's settings; unknown workflow ids are refused (422)."""
    member = _membership(session, project_id, user)
    if data.enabled is not None:
        member.failure_alert = data.enabled
    if "workflow_ids" in data.model_fields_set:
        ids = data.workflow_ids
        if ids is not None:
            _check_workflows(session, project_id, ids)
        member.failure_alert_workflow_ids = (
            None if ids is None else [str(i) for i in dict.fromkeys(ids)]
        )
    if data.digest is not None:
        member.digest = data.digest.value
    touch(member)
    session.add(member)
    session.commit()
    return _public(member)


def _check_workflows(session: Session, project_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    if not ids:
        raise InvalidInput(
            "workflow_ids: choose at least one workflow, or send null for the whole project "
            '(or "enabled": false to turn alerts off).'
        )
    known = set(
        session.exec(
            select(Workflow.id).where(
                col(Workflow.project_id) == project_id,
                col(Workflow.id).in_(ids),
                col(Workflow.deleted_at).is_(None),
            )
        ).all()
    )
    unknown = [str(i) for i in ids if i not in known]
    if unknown:
        raise InvalidInput(
            f"workflow_ids: {', '.join(unknown[:5])} "
            f"{'is not a workflow' if len(unknown) == 1 else 'are not workflows'} of this project."
        )


def webhook_of(session: Session, project_id: uuid.UUID) -> AlertWebhookPublic:
    hook = session.get(AlertWebhook, project_id)
    if hook is None:
        return AlertWebhookPublic(configured=False)
    parts = urlsplit(hook.url)
    return AlertWebhookPublic(configured=True, url_hint=f"{parts.scheme}://{parts.hostname}/…")


def set_webhook(session: Session, project_id: uuid.UUID, url: str) -> AlertWebhookPublic:
    """Store (or replace) the project's alert webhook URL, encrypted."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url: enter an http:// or https:// URL with a host name.")
    if any(c.isspace() for c in url):
        raise InvalidInput("url: a URL cannot contain spaces.")
    hook = session.get(AlertWebhook, project_id)
    if hook is None:
        hook = AlertWebhook(project_id=project_id, url=url)
    else:
        hook.url = url
        touch(hook)
    session.add(hook)
    session.commit()
    return webhook_of(session, project_id)


def remove_webhook(session: Session, project_id: uuid.UUID) -> None:
    hook = session.get(AlertWebhook, project_id)
    if hook is not None:
        session.delete(hook)
        session.commit()
