"""Response types of the history API: runs with their steps, log lines, dataclips, work orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from lightning_flows.runs.models import DataclipType, ExitReason
from lightning_flows.runs.states import RunState, WorkOrderState


class StepPublic(BaseModel):
    """One job's execution; `job_name` is the name the job had in the run's snapshot."""

    id: uuid.UUID
    job_id: uuid.UUID
    job_name: str | None
    attempt: int = 1
    max_attempts: int = Field(default=1, description="The attempts the job's retries allow.")
    exit_reason: ExitReason | None
    error_type: str | None
    error_message: str | None
    input_dataclip_id: uuid.UUID | None
    output_dataclip_id: uuid.UUID | None
    started_at: datetime | None
    finished_at: datetime | None
    prefect_task_run_id: uuid.UUID | None


class _Versioned(BaseModel):
    version: int | None = Field(default=None, description="The workflow version the run used.")
    latest_version: int | None = Field(default=None, description="The workflow's version now.")

    @property
    def version_label(self) -> str:
        """`v2`, or `v3 · latest` when the run used the version saved now."""
        if self.version is None:
            return ""
        latest = " · latest" if self.version == self.latest_version else ""
        return f"v{self.version}{latest}"


class RunDetail(_Versioned):
    id: uuid.UUID
    work_order_id: uuid.UUID
    workflow_id: uuid.UUID
    project_id: uuid.UUID
    state: RunState
    error_type: str | None
    priority: int
    inserted_at: datetime
    claimed_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    prefect_flow_run_id: uuid.UUID | None
    starting_job_id: uuid.UUID | None
    starting_trigger_id: uuid.UUID | None
    dataclip_id: uuid.UUID | None
    steps: list[StepPublic]


class LogLinePublic(BaseModel):
    id: uuid.UUID
    timestamp: datetime
    level: str
    source: str
    step_id: uuid.UUID | None
    message: str


class DataclipPublic(BaseModel):
    """A dataclip; `body` and `request` are null once it has been wiped."""

    id: uuid.UUID
    type: DataclipType
    body: Any
    request: dict[str, Any] | None
    name: str | None
    wiped_at: datetime | None
    inserted_at: datetime


STARTED_BY = "What started it: webhook, cron, manual, retry or bulk (a bulk retry)."


class RunSummary(_Versioned):
    id: uuid.UUID
    state: RunState
    started_by: str | None = Field(default=None, description=STARTED_BY)
    error_type: str | None
    inserted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class WorkOrderListItem(BaseModel):
    """A work order in the history list, with its runs newest first."""

    id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    trigger_id: uuid.UUID | None
    state: WorkOrderState
    dataclip_id: uuid.UUID | None
    inserted_at: datetime
    last_activity: datetime
    started_by: str | None = Field(default=None, description="What started its first run.")
    runs: list[RunSummary]


class WorkOrderFilters(BaseModel):
    """History filters; every one is optional and they combine with AND.

    `since`/`until` bound the received time (inserted_at), `last_activity_*`
    the last activity; lower bounds are inclusive, upper bounds exclusive.
    `search` is a case-insensitive substring of an input/output dataclip body
    or a log line message.
    """

    states: list[WorkOrderState] = Field(default_factory=list)
    workflow_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    last_activity_since: datetime | None = None
    last_activity_until: datetime | None = None
    search: str | None = None


class NamedDataclip(BaseModel):
    """A named dataclip in a list (without its body: open it by id)."""

    id: uuid.UUID
    name: str | None
    type: DataclipType
    wiped_at: datetime | None
    inserted_at: datetime


class DataclipNameUpdate(BaseModel):
    """`{"name": "..."}` names and keeps a dataclip; null or "" removes the name."""

    name: str | None = Field(default=None, max_length=255)
