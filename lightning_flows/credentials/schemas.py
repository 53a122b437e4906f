"""Credential request and response types (responses never carry a secret value)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class CredentialCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(min_length=1, max_length=255)
    schema_name: str = Field(
        default="raw",
        alias="schema",
        max_length=255,
        description="'raw', 'oauth' or an adaptor name such as 'http'",
    )
    body: dict[str, Any] = Field(default_factory=dict)
    production: bool = False
    project_ids: list[uuid.UUID] = Field(default_factory=list)


class CredentialUpdate(BaseModel):
    """Only the fields sent change; `project_ids` replaces the set of projects."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    body: dict[str, Any] | None = None
    production: bool | None = None
    project_ids: list[uuid.UUID] | None = None


class TransferRequest(BaseModel):
    email: EmailStr


class OwnerPublic(BaseModel):
    id: uuid.UUID
    email: str


class ProjectCredentialPublic(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID


class OAuthStatus(BaseModel):
    connected: bool
    expires_at: datetime | None = None
    scope: str | None = None


class CredentialPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    name: str
    schema_name: str = Field(serialization_alias="schema")
    production: bool
    owner: OwnerPublic
    project_credentials: list[ProjectCredentialPublic]
    body: dict[str, Any] = Field(description="Secret fields read '********'.")
    oauth: OAuthStatus | None = None
    inserted_at: datetime
    updated_at: datetime


class ProjectCredentialItem(BaseModel):
    """A credential shared with a project, as jobs reference it (no body)."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID = Field(description="The project_credential_id jobs reference")
    credential_id: uuid.UUID
    name: str
    schema_name: str = Field(serialization_alias="schema")
    production: bool
    owner: OwnerPublic


class AuthorizationUrl(BaseModel):
    authorization_url: str
