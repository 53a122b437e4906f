"""What happened: work orders, runs, steps, dataclips and log lines."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from adaptor_tasks.models import ExitReason  # the one enum of step exit reasons
from lightning_flows.core.models import created_at, fk, json_column, timestamp, uuid_pk
from lightning_flows.runs.states import FINAL_RUN_STATES, RunState, WorkOrderState


class DataclipType(StrEnum):
    HTTP_REQUEST = "http_request"
    STEP_RESULT = "step_result"
    SAVED_INPUT = "saved_input"
    GLOBAL = "global"


def _in(column: str, values: object) -> str:
    return f"{column} IN ({','.join(repr(str(v)) for v in values)})"  # type: ignore[attr-defined]


class Dataclip(SQLModel, table=True):
    __tablename__ = "dataclips"
    __table_args__ = (
        CheckConstraint(_in("type", list(DataclipType)), name="ck_dataclips_type"),
        Index("ix_dataclips_project_inserted", "project_id", "inserted_at"),
        Index(
            "uq_dataclips_project_name",
            "project_id",
            "name",
            unique=True,
            sqlite_where=text("name IS NOT NULL"),
            postgresql_where=text("name IS NOT NULL"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id", index=False)
    type: str = Field(max_length=16)
    body: Any = json_column()
    request: dict[str, Any] | None = json_column()
    name: str | None = Field(default=None, max_length=255)
    wiped_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint(_in("state", list(WorkOrderState)), name="ck_work_orders_state"),
        Index("ix_work_orders_project_state_inserted", "project_id", "state", "inserted_at"),
        Index("ix_work_orders_project_inserted", "project_id", "inserted_at"),
        Index("ix_work_orders_workflow_inserted", "workflow_id", "inserted_at"),
        Index("ix_work_orders_project_activity", "project_id", "last_activity"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id", index=False)
    workflow_id: uuid.UUID = fk("workflows.id", index=False)
    trigger_id: uuid.UUID | None = fk("triggers.id", ondelete="SET NULL", nullable=True)
    snapshot_id: uuid.UUID = fk("workflow_snapshots.id", index=False)
    dataclip_id: uuid.UUID | None = fk("dataclips.id", ondelete="SET NULL", nullable=True)
    state: str = Field(default=WorkOrderState.PENDING.value, max_length=16)
    last_activity: datetime = created_at()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class Run(SQLModel, table=True):
    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("state", list(RunState)), name="ck_runs_state"),
        CheckConstraint(
            "starting_job_id IS NOT NULL OR starting_trigger_id IS NOT NULL",
            name="ck_runs_has_start",
        ),
        Index("ix_runs_state_priority_inserted", "state", "priority", "inserted_at"),
        Index("ix_runs_worker_name_state", "worker_name", "state"),
    )

    id: uuid.UUID = uuid_pk()
    work_order_id: uuid.UUID = fk("work_orders.id")
    snapshot_id: uuid.UUID = fk("workflow_snapshots.id", index=False)
    starting_job_id: uuid.UUID | None = None
    starting_trigger_id: uuid.UUID | None = None
    dataclip_id: uuid.UUID | None = fk("dataclips.id", ondelete="SET NULL", nullable=True)
    final_dataclip_id: uuid.UUID | None = fk(
        "dataclips.id", ondelete="SET NULL", nullable=True, index=False
    )
    state: str = Field(default=RunState.AVAILABLE.value, max_length=16)
    error_type: str | None = Field(default=None, max_length=255)
    priority: int = Field(default=1, description="0 = immediate (manual), 1 = normal")
    created_by_id: uuid.UUID | None = fk("users.id", ondelete="SET NULL", nullable=True)
    prefect_flow_run_id: uuid.UUID | None = Field(default=None, index=True)
    worker_name: str | None = Field(default=None, max_length=255)
    claimed_at: datetime | None = timestamp()
    started_at: datetime | None = timestamp()
    finished_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_RUN_STATES


class Step(SQLModel, table=True):
    """One job's execution in a run. `job_id` refers to the run's snapshot, not a live row."""

    __tablename__ = "steps"
    __table_args__ = (
        CheckConstraint(
            f"exit_reason IS NULL OR {_in('exit_reason', list(ExitReason))}",
            name="ck_steps_exit_reason",
        ),
    )

    id: uuid.UUID = uuid_pk()
    run_id: uuid.UUID = fk("runs.id")
    job_id: uuid.UUID
    attempt: int = Field(default=1, description="1 for the first attempt of the job's step.")
    exit_reason: str | None = Field(default=None, max_length=16)
    error_type: str | None = Field(default=None, max_length=255)
    error_message: str | None = Field(default=None, max_length=10_000)
    input_dataclip_id: uuid.UUID | None = fk("dataclips.id", ondelete="SET NULL", nullable=True)
    output_dataclip_id: uuid.UUID | None = fk("dataclips.id", ondelete="SET NULL", nullable=True)
    prefect_task_run_id: uuid.UUID | None = None
    started_at: datetime | None = timestamp()
    finished_at: datetime | None = timestamp()
    inserted_at: datetime = created_at()


class LogLine(SQLModel, table=True):
    __tablename__ = "log_lines"
    __table_args__ = (Index("ix_log_lines_run_timestamp", "run_id", "timestamp"),)

    id: uuid.UUID = uuid_pk()
    run_id: uuid.UUID = fk("runs.id", index=False)
    step_id: uuid.UUID | None = fk("steps.id", nullable=True)
    level: str = Field(default="info", max_length=16)
    source: str = Field(default="R/T", max_length=32)
    message: str = Field(default="")
    timestamp: datetime = created_at()
    sequence: int = Field(
        default=0, sa_column_kwargs={"server_default": "0"}, description="Order among equal times."
    )


class WorkerRecord(SQLModel, table=True):
    """A live (or recently live) worker: its heartbeat says whether its runs are safe.

    A worker silent past `worker_dead_after_seconds` is dead; any live worker takes
    over the runs it held (runs/takeover.py). Prefect's work pool gets the same
    heartbeats, for its UI.
    """

    __tablename__ = "workers"

    name: str = Field(primary_key=True, max_length=255)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    concurrency: int = 1
    started_at: datetime = created_at()
    last_heartbeat_at: datetime = created_at()
