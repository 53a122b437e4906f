"""Webhook auth methods of a project (`basic` user/password or `api` key) and their triggers."""

from __future__ import annotations

import secrets
import uuid

from pydantic import BaseModel, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from lightning_flows.audit import service as audit
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.core.models import touch
from lightning_flows.credentials.models import (
    TriggerWebhookAuthMethod,
    WebhookAuthMethod,
    WebhookAuthType,
)
from lightning_flows.webhooks.lookup import clear_cache
from lightning_flows.workflows.models import Trigger, Workflow

MASK = "********"


class AuthMethodCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    auth_type: WebhookAuthType
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8)
    api_key: str | None = Field(default=None, min_length=16, description="Generated if omitted.")

    @model_validator(mode="after")
    def _fields_for_type(self) -> AuthMethodCreate:
        if self.auth_type == WebhookAuthType.BASIC and not (self.username and self.password):
            raise ValueError("basic auth needs a username and a password (8+ characters)")
        return self


class AuthMethodUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8)


class AuthMethodPublic(BaseModel):
    id: uuid.UUID
    name: str
    auth_type: str
    username: str | None
    secret: str = Field(description="Shown in full only in the creation response.")
    trigger_ids: list[uuid.UUID]


def _public(
    session: Session, method: WebhookAuthMethod, *, reveal: bool = False
) -> AuthMethodPublic:
    trigger_ids = session.exec(
        select(TriggerWebhookAuthMethod.trigger_id).where(
            TriggerWebhookAuthMethod.webhook_auth_method_id == method.id
        )
    ).all()
    secret = (method.api_key if method.auth_type == "api" else method.password) or ""
    return AuthMethodPublic(
        id=method.id,
        name=method.name,
        auth_type=method.auth_type,
        username=method.username,
        secret=secret if reveal else MASK,
        trigger_ids=list(trigger_ids),
    )


def list_methods(session: Session, project_id: uuid.UUID) -> list[AuthMethodPublic]:
    rows = session.exec(
        select(WebhookAuthMethod)
        .where(WebhookAuthMethod.project_id == project_id)
        .order_by(col(WebhookAuthMethod.name))
    ).all()
    return [_public(session, m) for m in rows]


def create_method(
    session: Session, project_id: uuid.UUID, data: AuthMethodCreate, actor_id: uuid.UUID
) -> AuthMethodPublic:
    method = WebhookAuthMethod(
        project_id=project_id,
        name=data.name,
        auth_type=data.auth_type.value,
        username=data.username if data.auth_type == WebhookAuthType.BASIC else None,
        password=data.password if data.auth_type == WebhookAuthType.BASIC else None,
        api_key=(data.api_key or secrets.token_urlsafe(32))
        if data.auth_type == WebhookAuthType.API
        else None,
    )
    session.add(method)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"This project already has a webhook auth method named '{data.name}'."
        ) from exc
    audit.record(
        session,
        "created",
        "webhook_auth_method",
        method.id,
        actor_id,
        after={"name": method.name, "auth_type": method.auth_type},
    )
    session.commit()
    return _public(session, method, reveal=True)


def get_method(session: Session, project_id: uuid.UUID, method_id: uuid.UUID) -> WebhookAuthMethod:
    method = session.get(WebhookAuthMethod, method_id)
    if method is None or method.project_id != project_id:
        raise NotFound("Webhook auth method not found.")
    return method


def update_method(
    session: Session,
    project_id: uuid.UUID,
    method_id: uuid.UUID,
    data: AuthMethodUpdate,
    actor_id: uuid.UUID,
) -> AuthMethodPublic:
    method = get_method(session, project_id, method_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if method.auth_type == "api":
        changes.pop("username", None)
        changes.pop("password", None)
    for key, value in changes.items():
        setattr(method, key, value)
    touch(method)
    audit.record(
        session,
        "updated",
        "webhook_auth_method",
        method.id,
        actor_id,
        after={"fields": sorted(changes)},
    )
    session.commit()
    clear_cache()
    return _public(session, method)


def delete_method(
    session: Session, project_id: uuid.UUID, method_id: uuid.UUID, actor_id: uuid.UUID
) -> None:
    method = get_method(session, project_id, method_id)
    audit.record(
        session, "deleted", "webhook_auth_method", method.id, actor_id, before={"name": method.name}
    )
    session.delete(method)
    session.commit()
    clear_cache()


def set_trigger_methods(
    session: Session,
    project_id: uuid.UUID,
    trigger_id: uuid.UUID,
    method_ids: list[uuid.UUID],
    actor_id: uuid.UUID,
) -> list[uuid.UUID]:
    """Replace the auth methods a webhook trigger requires (empty list: no auth)."""
    row = session.exec(
        select(Trigger, Workflow)
        .join(Workflow, Workflow.id == Trigger.workflow_id)  # type: ignore[arg-type]
        .where(Trigger.id == trigger_id)
    ).first()
    if row is None or row[1].project_id != project_id:
        raise NotFound("Trigger not found.")
    if row[0].type != "webhook":
        raise InvalidInput("Only webhook triggers take auth methods.")
    for method_id in method_ids:
        get_method(session, project_id, method_id)
    session.exec(  # type: ignore[call-overload]
        delete(TriggerWebhookAuthMethod).where(
            col(TriggerWebhookAuthMethod.trigger_id) == trigger_id
        )
    )
    for method_id in dict.fromkeys(method_ids):
        session.add(
            TriggerWebhookAuthMethod(trigger_id=trigger_id, webhook_auth_method_id=method_id)
        )
    audit.record(
        session,
        "auth_methods_set",
        "trigger",
        trigger_id,
        actor_id,
        after={"webhook_auth_method_ids": [str(m) for m in method_ids]},
    )
    session.commit()
    clear_cache()
    return list(dict.fromkeys(method_ids))
