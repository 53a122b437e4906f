"""Credentials (encrypted bodies), their sharing with projects, and webhook auth."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.crypto import EncryptedJSON, EncryptedString
from lightning_flows.core.models import created_at, fk, timestamp, uuid_pk


class WebhookAuthType(StrEnum):
    BASIC = "basic"
    API = "api"


class Credential(SQLModel, table=True):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_credentials_owner_name"),)

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=255)
    user_id: uuid.UUID = fk("users.id")
    schema_name: str = Field(default="raw", max_length=255, sa_column_kwargs={"name": "schema"})
    production: bool = False
    body: dict[str, Any] = Field(default_factory=dict, sa_type=EncryptedJSON, nullable=False)
    oauth_token: dict[str, Any] | None = Field(default=None, sa_type=EncryptedJSON)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class ProjectCredential(SQLModel, table=True):
    __tablename__ = "project_credentials"
    __table_args__ = (
        UniqueConstraint("project_id", "credential_id", name="uq_project_credentials_pair"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    credential_id: uuid.UUID = fk("credentials.id")
    inserted_at: datetime = created_at()


class WebhookAuthMethod(SQLModel, table=True):
    __tablename__ = "webhook_auth_methods"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_webhook_auth_methods_project_name"),
        CheckConstraint("auth_type IN ('basic','api')", name="ck_webhook_auth_methods_type"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    name: str = Field(max_length=255)
    auth_type: str = Field(max_length=8)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, sa_type=EncryptedString)
    api_key: str | None = Field(default=None, sa_type=EncryptedString)
    scheduled_deletion_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class TriggerWebhookAuthMethod(SQLModel, table=True):
    __tablename__ = "trigger_webhook_auth_methods"

    trigger_id: uuid.UUID = Field(foreign_key="triggers.id", primary_key=True, ondelete="CASCADE")
    webhook_auth_method_id: uuid.UUID = Field(
        foreign_key="webhook_auth_methods.id", primary_key=True, ondelete="CASCADE"
    )
