"""Users, personal access tokens, UI sessions, one-time tokens, OpenID Connect providers
and instance-wide settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from lightning_flows.core.crypto import EncryptedString
from lightning_flows.core.models import created_at, fk, json_column, timestamp, uuid_pk


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = uuid_pk()
    email: str = Field(max_length=255, unique=True, index=True)
    first_name: str = Field(default="", max_length=255)
    last_name: str = Field(default="", max_length=255)
    hashed_password: str | None = Field(default=None, description="argon2; null for SSO-only users")
    is_superuser: bool = False
    disabled: bool = False
    mfa_enabled: bool = False
    mfa_secret: str | None = Field(default=None, sa_type=EncryptedString)
    mfa_backup_codes: list[Any] = json_column(nullable=False, default=list)
    mfa_last_step: int | None = Field(default=None, description="Last TOTP step accepted")
    failed_login_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = timestamp()
    confirmed_at: datetime | None = timestamp()
    scheduled_deletion_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class ApiToken(SQLModel, table=True):
    """A personal access token; only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id")
    name: str = Field(default="", max_length=255)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    last_used_at: datetime | None = timestamp()
    revoked_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()


class UserSession(SQLModel, table=True):
    """A browser session; only the SHA-256 of the cookie value is stored."""

    __tablename__ = "user_sessions"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    mfa_verified: bool = False
    user_agent: str = Field(default="", max_length=512)
    expires_at: datetime = created_at()
    last_seen_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()


class AuthProvider(SQLModel, table=True):
    """An OpenID Connect identity provider configured by a superuser."""

    __tablename__ = "auth_providers"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=255, unique=True)
    discovery_url: str = Field(max_length=2048)
    client_id: str = Field(max_length=512)
    client_secret: str = Field(sa_type=EncryptedString)
    redirect_uri: str = Field(default="", max_length=2048)
    enabled: bool = True
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class UserToken(SQLModel, table=True):
    """A single-use emailed token (password reset); only its SHA-256 is stored."""

    __tablename__ = "user_tokens"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = fk("users.id")
    context: str = Field(max_length=32)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = created_at()
    used_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()


class InstanceSetting(SQLModel, table=True):
    """An instance-wide setting changed by a superuser at run time (e.g. registration)."""

    __tablename__ = "instance_settings"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = json_column(nullable=True)
    updated_at: datetime = created_at()
