"""History: a project's work orders grouped by workflow, newest first, filtered from the URL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import NotFound
from lightning_flows.core.pagination import PageParams
from lightning_flows.runs import bulk_retry, queries
from lightning_flows.runs.bulk_schemas import RetryBatchProgress
from lightning_flows.runs.schemas import StepPublic, WorkOrderListItem
from lightning_flows.runs.states import WorkOrderState
from lightning_flows.workflows.models import Workflow
from ui_extension.pages import history_filters, history_retry
from ui_extension.pages.common import (
    Pager,
    PageRoute,
    positive_int,
    project_access,
    project_context,
)
from ui_extension.templating import render

router = APIRouter(route_class=PageRoute)
DEFAULT_PAGE_SIZE = 20
COUNT_LIMIT = 10_000  # counting further costs more than the page; shown as "more than"


@dataclass
class WorkflowGroup:
    """The work orders of one workflow on the current page."""

    workflow_id: uuid.UUID
    name: str
    work_orders: list[WorkOrderListItem] = field(default_factory=list)


def group_by_workflow(items: list[WorkOrderListItem]) -> list[WorkflowGroup]:
    """Groups in the order their newest work order appears (the list is newest first)."""
    groups: dict[uuid.UUID, WorkflowGroup] = {}
    for item in items:
        group = groups.setdefault(
            item.workflow_id, WorkflowGroup(item.workflow_id, item.workflow_name)
        )
        group.work_orders.append(item)
    return list(groups.values())


def _batch_progress(
    db: Session, project_id: uuid.UUID, raw: str | None
) -> RetryBatchProgress | None:
    """The progress of the bulk retry just submitted (`?batch=`), if it is this project's."""
    try:
        batch = bulk_retry.get_batch(db, project_id, uuid.UUID(raw or ""))
    except (ValueError, NotFound):
        return None
    return bulk_retry.progress(db, batch)


@router.get("/projects/{project_id}/history")
def history(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    access = project_access(db, user, project_id, Action.READ_HISTORY)
    query = history_filters.parse(request.query_params)
    page_size = positive_int(
        request.query_params.get("page_size"), DEFAULT_PAGE_SIZE, get_settings().page_size_max
    )
    params = PageParams(page=positive_int(request.query_params.get("page"), 1), page_size=page_size)
    page = queries.list_work_orders(db, project_id, query.filters, params, count_limit=COUNT_LIMIT)
    capped = page.total > COUNT_LIMIT
    known = params.offset + len(page.items) + (1 if len(page.items) == page_size else 0)
    steps: dict[uuid.UUID, list[StepPublic]] = queries.steps_by_run(
        db, [run.id for item in page.items for run in item.runs]
    )
    workflows = db.exec(
        select(Workflow.id, Workflow.name)
        .where(col(Workflow.project_id) == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name))
    ).all()
    pager_query = [*query.items()]
    if page_size != DEFAULT_PAGE_SIZE:
        pager_query.append(("page_size", str(page_size)))
    share_url = f"/projects/{project_id}/history" + (
        f"?{urlencode(pager_query)}" if pager_query else ""
    )
    context = project_context(
        access,
        "history",
        query=query,
        error=" ".join(query.errors) or None,
        states=list(WorkOrderState),
        workflows=workflows,
        groups=group_by_workflow(page.items),
        steps=steps,
        pager=Pager(
            page.page,
            page.page_size,
            max(page.total, known) if capped else page.total,
            tuple(pager_query),
            capped,
        ),
        count_limit=COUNT_LIMIT,
        share_url=share_url,
        export_query=urlencode(query.items()),
        can_retry=access.allows(Action.RUN_WORKFLOWS),
        jobs=history_retry.job_choices(db, project_id, query.filters.workflow_id),
        batch=_batch_progress(db, project_id, request.query_params.get("batch")),
    )
    return render(request, "pages/history.html", context, user=user)
