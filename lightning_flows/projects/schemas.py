"""Project request and response types."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from lightning_flows.projects.models import Digest, RetentionPolicy, Role


class ProjectBase(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=10_000)
    retention_policy: RetentionPolicy = RetentionPolicy.RETAIN_ALL
    history_retention_days: int | None = Field(default=None, ge=1)
    dataclip_retention_days: int | None = Field(default=None, ge=1)
    requires_mfa: bool = False
    concurrency: int | None = Field(default=None, ge=1)


class ProjectCreate(ProjectBase):
    pass


class ProjectUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    retention_policy: RetentionPolicy | None = None
    history_retention_days: int | None = Field(default=None, ge=1)
    dataclip_retention_days: int | None = Field(default=None, ge=1)
    requires_mfa: bool | None = None
    concurrency: int | None = Field(default=None, ge=1)
    run_limit_per_month: int | None = Field(
        default=None, ge=1, description="Superuser only. Runs per calendar month (UTC)."
    )
    max_concurrent_runs: int | None = Field(
        default=None, ge=1, description="Superuser only. Runs of this project executing at once."
    )
    step_timeout_seconds: int | None = Field(
        default=None, ge=1, description="Per step, up to the instance's limit."
    )
    step_memory_limit_mb: int | None = Field(
        default=None, ge=32, description="Per step, up to the instance's limit."
    )
    state_limit_bytes: int | None = Field(
        default=None, ge=1024, description="Largest state a step may return, up to the instance's."
    )


class ProjectPublic(ProjectBase):
    id: uuid.UUID
    run_limit_per_month: int | None = None
    max_concurrent_runs: int | None = None
    step_timeout_seconds: int | None = None
    step_memory_limit_mb: int | None = None
    state_limit_bytes: int | None = None
    inserted_at: datetime
    updated_at: datetime


class MemberCreate(BaseModel):
    email: EmailStr
    role: Role = Role.EDITOR


class MemberUpdate(BaseModel):
    role: Role | None = None
    failure_alert: bool | None = None
    digest: Digest | None = None


class MemberPublic(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    role: Role
    failure_alert: bool
    digest: Digest
    inserted_at: datetime


class OwnershipTransfer(BaseModel):
    user_id: uuid.UUID = Field(description="A member of the project, who becomes its owner.")
