"""A project's link to a git remote and branch (secrets encrypted at rest)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field, SQLModel

from lightning_flows.core.crypto import EncryptedString
from lightning_flows.core.models import created_at, fk, timestamp, uuid_pk


class GitAuthType(StrEnum):
    NONE = "none"
    TOKEN = "token"  # noqa: S105  # nosec B105
    SSH_KEY = "ssh_key"


class RepoConnection(SQLModel, table=True):
    __tablename__ = "project_repo_connections"
    __table_args__ = (
        CheckConstraint(
            "auth_type IN ('none','token','ssh_key')", name="ck_project_repo_connections_auth"
        ),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", unique=True)
    remote_url: str = Field(max_length=2048)
    branch: str = Field(default="main", max_length=255)
    auth_type: str = Field(default=GitAuthType.NONE.value, max_length=16)
    secret: str | None = Field(default=None, sa_type=EncryptedString, description="token or key")
    known_hosts: str | None = Field(default=None, sa_type=Text)
    webhook_secret: str | None = Field(default=None, sa_type=EncryptedString)
    last_synced_commit: str | None = Field(default=None, max_length=64)
    last_synced_at: datetime | None = timestamp()
    last_error: str | None = Field(default=None, sa_type=Text)
    created_by_id: uuid.UUID | None = fk("users.id", ondelete="SET NULL", nullable=True)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
