"""History's bulk retry: retry the selected work orders (or all matching the filters)
from the start or a step, and the progress panel the page polls while it runs."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import InvalidInput
from lightning_flows.runs import bulk_queue, bulk_retry
from lightning_flows.runs.bulk_schemas import BulkFilter, BulkRetryRequest
from lightning_flows.workflows.models import Job, Workflow
from ui_extension.pages import history_filters
from ui_extension.pages.common import PageRoute, project_access
from ui_extension.templating import redirect, render

router = APIRouter(route_class=PageRoute)


def job_choices(
    db: Session, project_id: uuid.UUID, workflow_id: uuid.UUID | None
) -> list[tuple[uuid.UUID, str]]:
    """The steps a bulk retry may start from: `(job id, "workflow: job")`."""
    statement = (
        select(Job.id, Workflow.name, Job.name)
        .join(Workflow, col(Workflow.id) == col(Job.workflow_id))
        .where(col(Workflow.project_id) == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name), col(Job.name))
    )
    if workflow_id is not None:
        statement = statement.where(col(Workflow.id) == workflow_id)
    return [(job_id, f"{wf}: {job}") for job_id, wf, job in db.exec(statement).all()]


@router.post("/projects/{project_id}/history/retry", dependencies=[web.CSRFProtected])
async def retry_selected(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    background: BackgroundTasks,
) -> Response:
    """Queue a bulk retry; the history page then shows its progress."""
    project_access(db, user, project_id, Action.RUN_WORKFLOWS)
    form = await request.form()
    query = history_filters.parse(QueryParams([(k, str(v)) for k, v in form.multi_items()]))
    body: dict[str, object] = {"from": str(form.get("from") or "start")}
    if form.get("all_matching"):
        filters = query.filters
        body["filter"] = BulkFilter(
            status=filters.states,
            workflow_id=filters.workflow_id,
            since=filters.since,
            until=filters.until,
            last_activity_since=filters.last_activity_since,
            last_activity_until=filters.last_activity_until,
            search=filters.search,
        )
    else:
        body["work_order_ids"] = [str(v) for v in form.getlist("work_order_id")]
        if not body["work_order_ids"]:
            raise InvalidInput('Select work orders to retry, or tick "all matching these filters".')
    try:
        retry_request = BulkRetryRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidInput("; ".join(str(e["msg"]) for e in exc.errors())) from exc
    # Selecting thousands of work orders takes a moment: not on the event loop.
    batch = await run_in_threadpool(
        bulk_retry.submit, db, project_id, retry_request, user_id=user.id
    )
    background.add_task(bulk_queue.process, batch.id)
    back = [*query.items(), ("batch", str(batch.id))]
    return redirect(f"/projects/{project_id}/history?{urlencode(back)}")


@router.get("/projects/{project_id}/history/retries/{batch_id}")
def retry_progress(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    batch_id: uuid.UUID,
) -> Response:
    """The progress panel (polled by the history page until the batch has finished)."""
    project_access(db, user, project_id, Action.READ_HISTORY)
    batch = bulk_retry.get_batch(db, project_id, batch_id)
    progress = bulk_retry.progress(db, batch)
    return render(
        request,
        "pages/_retry_progress.html",
        {"project_id": project_id, "progress": progress},
        user=user,
    )
