"""The workflow document: the whole graph, as the API, builder and snapshots see it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lightning_flows.workflows.models import ConditionType, TriggerType, WebhookReply


class WebhookResponseConfig(BaseModel):
    """Lightning's sync reply status codes: on a successful run, on any other outcome."""

    model_config = ConfigDict(extra="forbid")

    success_code: int | None = Field(default=None, ge=100, le=599)
    error_code: int | None = Field(default=None, ge=100, le=599)


class KafkaConfiguration(BaseModel):
    """A Kafka trigger's settings as Lightning stores them (`hosts` as [host, port])."""

    model_config = ConfigDict(extra="forbid")

    hosts: list[list[str]] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    initial_offset_reset_policy: str | None = Field(default=None, max_length=64)
    connect_timeout: int | None = Field(default=None, ge=0)

    @field_validator("hosts", mode="before")
    @classmethod
    def _host_port_pairs(cls, value: Any) -> Any:
        """A spec writes `host:port`; the state `[host, port]`."""
        if not isinstance(value, list):
            return value
        pairs = []
        for host in value:
            if isinstance(host, str):
                name, sep, port = host.rpartition(":")
                if not sep or not name or not port.isdigit():
                    raise ValueError(f"a Kafka host is host:port, found '{host}'")
                host = [name, port]
            if not isinstance(host, list) or len(host) != 2:
                raise ValueError(f"a Kafka host is host:port or [host, port], found {host!r}")
            pairs.append([str(part) for part in host])
        return pairs


class JobDoc(BaseModel):
    id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=255)
    adaptor: str = Field(default="@openfn/language-common@latest", min_length=1, max_length=255)
    body: str = ""
    project_credential_id: uuid.UUID | None = None
    adaptor_requested: str | None = Field(
        default=None, max_length=255, description="The adaptor as a spec wrote it (`@latest`)."
    )
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
    webhook_response_config: WebhookResponseConfig | None = None
    kafka_configuration: KafkaConfiguration | None = None


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
    # Kept on the job row for exports; snapshots, the builder and versions see the pin.
    adaptor_requested: str | None = Field(default=None, exclude=True)


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
