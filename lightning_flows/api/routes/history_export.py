"""`GET /api/projects/{id}/work_orders/export`: the filtered history as CSV or JSON."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.api.routes.runs import work_order_filters
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import history_export
from lightning_flows.runs.schemas import WorkOrderFilters

router = APIRouter(tags=["history"])
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get(
    "/api/projects/{project_id}/work_orders/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_work_orders(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    filters: Annotated[WorkOrderFilters, Depends(work_order_filters)],
    fmt: Annotated[
        Literal["csv", "json"], Query(alias="format", description="csv or json")
    ] = "csv",
    include: Annotated[
        str | None,
        Query(max_length=100, description="Comma-separated: dataclips, logs"),
    ] = None,
) -> StreamingResponse:
    """Every work order matching the history list's filters, newest first, streamed: CSV
    (one row per run) or JSON (work orders with their runs); `include=dataclips,logs`
    adds inputs and outputs, and log lines."""
    authorize(session, user, Action.READ_HISTORY, project_id)
    chosen = history_export.parse_include(include)
    body = history_export.stream(project_id, filters, fmt, chosen)
    name = f"history-{utcnow():%Y%m%dT%H%M%SZ}.{fmt}"
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
