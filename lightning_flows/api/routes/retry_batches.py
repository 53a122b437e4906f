"""Bulk retries: `POST /api/projects/{id}/work_orders/retry`, `GET .../retry_batches/{id}`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header
from starlette.responses import JSONResponse

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.runs import bulk_queue, bulk_retry
from lightning_flows.runs.bulk_schemas import (
    BulkRetryAccepted,
    BulkRetryRequest,
    RetryBatchProgress,
)

router = APIRouter(tags=["history"])


@router.post(
    "/api/projects/{project_id}/work_orders/retry",
    status_code=202,
    response_model=BulkRetryAccepted,
)
def retry_work_orders(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    body: BulkRetryRequest,
    background: BackgroundTasks,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=255, description="Same key, same batch (like `request_id`)."),
    ] = None,
) -> JSONResponse:
    """Retry work orders (by id, or all matching a filter) from the start or from a job, on
    the latest version. Answers at once; the runs are queued in chunks in the background
    (see the batch's progress). Re-submitting with the same `request_id` answers the same
    batch; work orders still waiting in an unfinished batch, or whose last run has not
    finished, are skipped."""
    authorize(session, user, Action.RUN_WORKFLOWS, project_id)
    batch = bulk_retry.submit(
        session, project_id, body, user_id=user.id, client_key=idempotency_key
    )
    background.add_task(bulk_queue.process, batch.id)
    accepted = BulkRetryAccepted(id=batch.id, total=batch.total)
    return JSONResponse(accepted.model_dump(mode="json"), status_code=202)


@router.get(
    "/api/projects/{project_id}/retry_batches/{batch_id}", response_model=RetryBatchProgress
)
def get_retry_batch(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, batch_id: uuid.UUID
) -> RetryBatchProgress:
    """A bulk retry's progress: total, queued, skipped (with reasons), done."""
    authorize(session, user, Action.READ_HISTORY, project_id)
    return bulk_retry.progress(session, bulk_retry.get_batch(session, project_id, batch_id))
