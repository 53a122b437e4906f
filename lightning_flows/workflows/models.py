"""Workflows and their graph (jobs, triggers, edges), snapshots and versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, json_column, timestamp, uuid_pk


class TriggerType(StrEnum):
    WEBHOOK = "webhook"
    CRON = "cron"
    KAFKA = "kafka"  # stored and round-tripped; not consumed yet (must stay disabled)


class WebhookReply(StrEnum):
    BEFORE_START = "before_start"
    AFTER_COMPLETION = "after_completion"


class ConditionType(StrEnum):
    ALWAYS = "always"
    ON_JOB_SUCCESS = "on_job_success"
    ON_JOB_FAILURE = "on_job_failure"
    JS_EXPRESSION = "js_expression"


class VersionSource(StrEnum):
    APP = "app"
    CLI = "cli"


class Workflow(SQLModel, table=True):
    __tablename__ = "workflows"
    __table_args__ = (
        Index(
            "uq_workflows_project_name_live",
            "project_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        CheckConstraint("concurrency IS NULL OR concurrency > 0", name="ck_workflows_concurrency"),
        CheckConstraint(
            "on_worker_loss IN ('resume', 'mark_lost')", name="ck_workflows_on_worker_loss"
        ),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    name: str = Field(max_length=255)
    concurrency: int | None = None
    retry_lost_runs: bool = Field(
        default=False, description="Start a run again when its worker died mid-run."
    )
    on_worker_loss: str = Field(
        default="resume",
        max_length=16,
        description="When the worker executing a run dies: `resume` it on another worker "
        "at the step in flight, or `mark_lost` (steps must not run twice).",
    )
    positions: dict[str, Any] = json_column(nullable=False, default=dict)
    lock_version: int = 0
    prefect_deployment_id: uuid.UUID | None = None
    deleted_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("workflow_id", "name", name="uq_jobs_workflow_name"),
        CheckConstraint("max_attempts BETWEEN 1 AND 10", name="ck_jobs_max_attempts"),
    )

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    name: str = Field(max_length=255)
    body: str = Field(default="")
    adaptor: str = Field(default="@openfn/language-common@latest", max_length=255)
    adaptor_requested: str | None = Field(
        default=None,
        max_length=255,
        description="The adaptor as a spec wrote it (`...@latest`) when `adaptor` pins it.",
    )
    project_credential_id: uuid.UUID | None = fk(
        "project_credentials.id", ondelete="SET NULL", nullable=True
    )
    # Automatic retries of a failed step (engine/retries.py).
    max_attempts: int = 1
    retry_delay_seconds: int = 0
    retry_backoff: float = 1.0
    retry_on_kill: bool = False
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class Trigger(SQLModel, table=True):
    __tablename__ = "triggers"
    __table_args__ = (
        CheckConstraint("type IN ('webhook','cron','kafka')", name="ck_triggers_type"),
        CheckConstraint(
            "type <> 'cron' OR cron_expression IS NOT NULL", name="ck_triggers_cron_expression"
        ),
        CheckConstraint(
            "webhook_reply IS NULL OR webhook_reply IN ('before_start','after_completion')",
            name="ck_triggers_webhook_reply",
        ),
    )

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    type: str = Field(max_length=16)
    enabled: bool = True
    custom_path: str | None = Field(default=None, max_length=255, unique=True)
    cron_expression: str | None = Field(default=None, max_length=255)
    cron_timezone: str = Field(default="UTC", max_length=64)
    webhook_reply: str | None = Field(default=None, max_length=32)
    cron_cursor_job_id: uuid.UUID | None = fk("jobs.id", ondelete="SET NULL", nullable=True)
    webhook_response_config: dict[str, Any] | None = json_column()
    kafka_configuration: dict[str, Any] | None = json_column()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class Edge(SQLModel, table=True):
    __tablename__ = "edges"
    __table_args__ = (
        CheckConstraint(
            "(source_job_id IS NULL) <> (source_trigger_id IS NULL)", name="ck_edges_one_source"
        ),
        CheckConstraint(
            "source_job_id IS NULL OR source_job_id <> target_job_id", name="ck_edges_no_self_loop"
        ),
        CheckConstraint(
            "condition_type IN ('always','on_job_success','on_job_failure','js_expression')",
            name="ck_edges_condition_type",
        ),
        CheckConstraint(
            "condition_type <> 'js_expression' OR "
            "(condition_expression IS NOT NULL AND condition_expression <> '')",
            name="ck_edges_js_expression_present",
        ),
        CheckConstraint(
            "source_trigger_id IS NULL OR condition_type IN ('always','js_expression')",
            name="ck_edges_trigger_condition",
        ),
        UniqueConstraint("source_job_id", "target_job_id", name="uq_edges_job_target"),
        UniqueConstraint("source_trigger_id", "target_job_id", name="uq_edges_trigger_target"),
    )

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    source_job_id: uuid.UUID | None = fk("jobs.id", nullable=True)
    source_trigger_id: uuid.UUID | None = fk("triggers.id", nullable=True)
    target_job_id: uuid.UUID = fk("jobs.id")
    condition_type: str = Field(default=ConditionType.ALWAYS.value, max_length=32)
    condition_expression: str | None = Field(default=None, max_length=10_000)
    condition_label: str | None = Field(default=None, max_length=255)
    enabled: bool = True
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class WorkflowSnapshot(SQLModel, table=True):
    """An immutable copy of a workflow's graph; runs point at the one they ran with."""

    __tablename__ = "workflow_snapshots"

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    lock_version: int
    name: str = Field(max_length=255)
    document: dict[str, Any] = json_column(nullable=False, default=dict)
    inserted_at: datetime = created_at()


class WorkflowVersion(SQLModel, table=True):
    __tablename__ = "workflow_versions"
    __table_args__ = (
        CheckConstraint("source IN ('app','cli')", name="ck_workflow_versions_source"),
    )

    id: uuid.UUID = uuid_pk()
    workflow_id: uuid.UUID = fk("workflows.id")
    snapshot_id: uuid.UUID = fk("workflow_snapshots.id")
    hash: str = Field(max_length=64, index=True)
    source: str = Field(default=VersionSource.APP.value, max_length=8)
    author_id: uuid.UUID | None = fk("users.id", ondelete="SET NULL", nullable=True)
    inserted_at: datetime = created_at()
