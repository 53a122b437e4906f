"""Bulk retries (`POST .../work_orders/retry`, `GET .../retry_batches/{id}`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lightning_flows.runs.states import WorkOrderState

MAX_IDS = 100_000


class BulkFilter(BaseModel):
    """The history list's filters (`GET /api/projects/{id}/work_orders`), as JSON."""

    model_config = ConfigDict(extra="forbid")

    status: list[WorkOrderState] = Field(default_factory=list)
    workflow_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    last_activity_since: datetime | None = None
    last_activity_until: datetime | None = None
    search: Annotated[str | None, Field(max_length=1000)] = None


class BulkRetryRequest(BaseModel):
    """Work orders named by id, or every one matching a filter, retried from the start or
    from a job (its id), on each workflow's latest version.

    `request_id` (or the `Idempotency-Key` header) makes a re-submission return the same
    batch instead of a new one.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    work_order_ids: Annotated[list[uuid.UUID] | None, Field(max_length=MAX_IDS)] = None
    filter: BulkFilter | None = None
    from_: str = Field(
        default="start", alias="from", description='"start", or the id of the job to start at.'
    )
    request_id: Annotated[str | None, Field(min_length=1, max_length=255)] = None


class BulkRetryAccepted(BaseModel):
    id: uuid.UUID
    total: int


class RetryBatchProgress(BaseModel):
    """`queued` runs were created, `skipped` work orders were not retried (see
    `skipped_reasons`), `done` of the queued runs have finished (`succeeded` of them
    successfully). `state`: `queuing` (work orders still being queued), `running` (all
    queued, runs not all finished), `finished`."""

    id: uuid.UUID
    project_id: uuid.UUID
    state: str
    total: int
    queued: int
    skipped: int
    pending: int
    done: int
    succeeded: int
    failed: int
    skipped_reasons: dict[str, int]
    start_job_id: uuid.UUID | None
    inserted_at: datetime
    queued_at: datetime | None
