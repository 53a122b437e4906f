"""History: `/api/runs/{id}` (+ log lines), `/api/dataclips/{id}`, a project's work orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.core.errors import NotFound
from lightning_flows.core.pagination import Page, PageParams
from lightning_flows.runs import queries
from lightning_flows.runs.schemas import (
    DataclipPublic,
    LogLinePublic,
    RunDetail,
    WorkOrderFilters,
    WorkOrderListItem,
)

router = APIRouter(tags=["history"])

LOG_PAGE_SIZE_MAX = 1000


def _authorize_history(session: Session, user: User, project_id: uuid.UUID, not_found: str) -> None:
    """READ_HISTORY on the record's project; a non-member sees the same 404 as for an unknown id."""
    try:
        authorize(session, user, Action.READ_HISTORY, project_id)
    except NotFound as exc:
        raise NotFound(not_found) from exc


def _log_page(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    page_size: Annotated[
        int, Query(ge=1, description=f"Lines per page (at most {LOG_PAGE_SIZE_MAX})")
    ] = 100,
) -> PageParams:
    return PageParams(page=page, page_size=min(page_size, LOG_PAGE_SIZE_MAX))


def work_order_filters(
    status: Annotated[
        list[str] | None,
        Query(description="Work order state; repeat for several (any of them matches)"),
    ] = None,
    workflow_id: uuid.UUID | None = None,
    since: Annotated[datetime | None, Query(description="Received at or after")] = None,
    until: Annotated[datetime | None, Query(description="Received before")] = None,
    last_activity_since: datetime | None = None,
    last_activity_until: datetime | None = None,
    search: Annotated[
        str | None,
        Query(max_length=1000, description="Text in an input/output dataclip or a log line"),
    ] = None,
) -> WorkOrderFilters:
    return WorkOrderFilters(
        states=queries.parse_states(status or []),
        workflow_id=workflow_id,
        since=since,
        until=until,
        last_activity_since=last_activity_since,
        last_activity_until=last_activity_until,
        search=search,
    )


@router.get("/api/runs/{run_id}", response_model=RunDetail)
def get_run(session: SessionDep, user: CurrentUser, run_id: uuid.UUID) -> RunDetail:
    run, work_order = queries.get_run_with_work_order(session, run_id)
    _authorize_history(session, user, work_order.project_id, "Run not found.")
    return queries.run_detail(session, run, work_order)


@router.get("/api/runs/{run_id}/log_lines", response_model=Page[LogLinePublic])
def list_log_lines(
    session: SessionDep,
    user: CurrentUser,
    run_id: uuid.UUID,
    page: Annotated[PageParams, Depends(_log_page)],
    step_id: uuid.UUID | None = None,
) -> Page[LogLinePublic]:
    _run, work_order = queries.get_run_with_work_order(session, run_id)
    _authorize_history(session, user, work_order.project_id, "Run not found.")
    return queries.list_log_lines(session, run_id, page, step_id=step_id)


@router.get("/api/dataclips/{dataclip_id}", response_model=DataclipPublic)
def get_dataclip(session: SessionDep, user: CurrentUser, dataclip_id: uuid.UUID) -> DataclipPublic:
    dataclip = queries.get_dataclip(session, dataclip_id)
    _authorize_history(session, user, dataclip.project_id, "Dataclip not found.")
    return queries.dataclip_public(dataclip)


@router.get("/api/projects/{project_id}/work_orders", response_model=Page[WorkOrderListItem])
def list_work_orders(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    page: PageDep,
    filters: Annotated[WorkOrderFilters, Depends(work_order_filters)],
) -> Page[WorkOrderListItem]:
    authorize(session, user, Action.READ_HISTORY, project_id)
    return queries.list_work_orders(session, project_id, filters, page)
