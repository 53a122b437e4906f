"""The workflow document: the whole graph, as the API, builder and snapshots see it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from lightning_flows.workflows.models import ConditionType, TriggerType, WebhookReply


class JobDoc(BaseModel):
    id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=255)
    adaptor: str = Field(default="@openfn/language-common@latest", min_length=1, max_length=255)
    body: str = ""
    project_credential_id: uuid.UUID | None = None
    max_attempts: int = Field(
        default=1, ge=1, le=10, description="Attempts of a failing step (1: no retries)."
    )
    retry_delay_seconds: int = Field(
        default=0, ge=0, le=3600, description="Wait before the second attempt."
    )
    retry_backoff: float = Field(
        default=1.0, ge=1.0, le=10.0, description="Each further wait is the last one times this."
    )
    retry_on_kill: bool = Field(
        default=False, description="Also retry a step killed by its time or memory limit."
    )


class TriggerDoc(BaseModel):
    id: uuid.UUID | None = None
    type: TriggerType
    enabled: bool = True
    cron_expression: str | None = Field(default=None, max_length=255)
    cron_timezone: str = Field(default="UTC", max_length=64)
    custom_path: str | None = Field(default=None, max_length=255)
    webhook_reply: WebhookReply | None = None
    cron_cursor_job_id: uuid.UUID | None = None


class EdgeDoc(BaseModel):
    id: uuid.UUID | None = None
    source_trigger_id: uuid.UUID | None = None
    source_job_id: uuid.UUID | None = None
    target_job_id: uuid.UUID
    condition_type: ConditionType = ConditionType.ALWAYS
    condition_expression: str | None = Field(default=None, max_length=10_000)
    condition_label: str | None = Field(default=None, max_length=255)
    enabled: bool = True


class WorkflowDocument(BaseModel):
    """What a client sends to create or replace a workflow."""

    name: str = Field(min_length=1, max_length=255)
    concurrency: int | None = Field(default=None, ge=1)
    retry_lost_runs: bool = False
    on_worker_loss: Literal["resume", "mark_lost"] = Field(
        default="resume",
        description="When the worker executing a run dies: `resume` the run on another worker "
        "at the step that was in flight (completed steps are not run again), or `mark_lost` "
        "to end it `lost` at once (for steps that must never run twice).",
    )
    positions: dict[str, Any] = Field(default_factory=dict)
    lock_version: int | None = Field(
        default=None, description="When given, the save is refused if someone saved since."
    )
    jobs: list[JobDoc] = Field(default_factory=list)
    triggers: list[TriggerDoc] = Field(default_factory=list)
    edges: list[EdgeDoc] = Field(default_factory=list)


class JobPublic(JobDoc):
    id: uuid.UUID


class TriggerPublic(TriggerDoc):
    id: uuid.UUID


class EdgePublic(EdgeDoc):
    id: uuid.UUID


class WorkflowPublic(BaseModel):
    """A stored workflow with every id; also the body of a snapshot."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    concurrency: int | None
    retry_lost_runs: bool
    on_worker_loss: Literal["resume", "mark_lost"] = "resume"
    positions: dict[str, Any]
    lock_version: int
    jobs: list[JobPublic]
    triggers: list[TriggerPublic]
    edges: list[EdgePublic]
    inserted_at: datetime
    updated_at: datetime
