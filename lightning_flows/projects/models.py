"""Projects and their members."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, json_column, timestamp, uuid_pk


class RetentionPolicy(StrEnum):
    RETAIN_ALL = "retain_all"
    RETAIN_WITH_ERRORS = "retain_with_errors"
    ERASE_ALL = "erase_all"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class Digest(StrEnum):
    NEVER = "never"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(
            "retention_policy IN ('retain_all','retain_with_errors','erase_all')",
            name="ck_projects_retention_policy",
        ),
        CheckConstraint("concurrency IS NULL OR concurrency > 0", name="ck_projects_concurrency"),
    )

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=255)
    description: str = Field(default="", max_length=10_000)
    retention_policy: str = Field(default=RetentionPolicy.RETAIN_ALL.value, max_length=32)
    history_retention_days: int | None = None
    dataclip_retention_days: int | None = None
    requires_mfa: bool = False
    concurrency: int | None = None
    # Usage limits, set by a superuser (None: the instance default; limits/service.py).
    run_limit_per_month: int | None = None
    max_concurrent_runs: int | None = None
    # Per-run limits within the instance maxima (None: the instance setting).
    step_timeout_seconds: int | None = None
    step_memory_limit_mb: int | None = None
    state_limit_bytes: int | None = None
    scheduled_deletion_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class ProjectUser(SQLModel, table=True):
    __tablename__ = "project_users"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id", name="uq_project_users_project_user"),
        CheckConstraint(
            "role IN ('owner','admin','editor','viewer')", name="ck_project_users_role"
        ),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    user_id: uuid.UUID = fk("users.id")
    role: str = Field(default=Role.EDITOR.value, max_length=16)
    failure_alert: bool = True
    failure_alert_workflow_ids: list[str] | None = json_column(
        default=None
    )  # None: every workflow of the project; else only these (notifications/subscriptions.py)
    workflow_change_alert: bool = Field(
        default=False, description="Email this member when a workflow of the project changes."
    )
    digest: str = Field(default=Digest.WEEKLY.value, max_length=16)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
