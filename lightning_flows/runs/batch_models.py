"""Bulk retries: a batch of work orders to run again, and each work order's outcome.

The batch row records progress (counters, a lease for the process queuing it), so a
batch interrupted by a restart is picked up where it stopped: its `pending` items.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, json_column, timestamp, uuid_pk


class BatchState(StrEnum):
    QUEUING = "queuing"  # items still pending
    QUEUED = "queued"  # every item was queued or skipped


class ItemStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SKIPPED = "skipped"


class RetryBatch(SQLModel, table=True):
    __tablename__ = "retry_batches"
    __table_args__ = (
        UniqueConstraint("project_id", "client_key", name="uq_retry_batches_project_client_key"),
        Index("ix_retry_batches_state", "state"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id", index=False)
    created_by_id: uuid.UUID | None = fk(
        "users.id", ondelete="SET NULL", nullable=True, index=False
    )
    client_key: str | None = Field(default=None, max_length=255)
    start_job_id: uuid.UUID | None = None
    selection: dict[str, Any] | None = json_column()
    state: str = Field(default=BatchState.QUEUING.value, max_length=16)
    total: int = 0
    queued: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = json_column(nullable=False, default=dict)
    lease_owner: str | None = Field(default=None, max_length=255)
    lease_until: datetime | None = timestamp()
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
    queued_at: datetime | None = timestamp()


class RetryBatchItem(SQLModel, table=True):
    """One work order of a batch: `pending`, then `queued` (with its new run) or `skipped`."""

    __tablename__ = "retry_batch_items"
    __table_args__ = (
        Index("ix_retry_batch_items_work_order_status", "work_order_id", "status"),
        Index("ix_retry_batch_items_run_id", "run_id"),
    )

    batch_id: uuid.UUID = Field(
        foreign_key="retry_batches.id", ondelete="CASCADE", primary_key=True
    )
    work_order_id: uuid.UUID = Field(
        foreign_key="work_orders.id", ondelete="CASCADE", primary_key=True
    )
    status: str = Field(default=ItemStatus.PENDING.value, max_length=16)
    reason: str | None = Field(default=None, max_length=32)
    run_id: uuid.UUID | None = None
