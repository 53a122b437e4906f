"""The run inspector: steps on a timeline, each with input, output, logs and errors;
retrying from a step; and a dataclip shown in full."""

from __future__ import annotations

import os
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import NotFound
from lightning_flows.core.pagination import PageParams
from lightning_flows.runs import dataclips, manual, queries
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.workflows.models import Workflow
from ui_extension.pages import clip_text
from ui_extension.pages.common import PageRoute, ProjectAccess, project_access, project_context
from ui_extension.pages.inspector import logs_by_step, timeline
from ui_extension.templating import redirect, render

router = APIRouter(route_class=PageRoute)
LOG_LINES_SHOWN = 2000


def prefect_ui_url() -> str | None:
    """The Prefect UI's base URL: `PREFECT_API_URL` without its `/api` suffix."""
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    return api.removesuffix("/api") if api else None


def _load_run(
    db: Session, user: User, project_id: uuid.UUID, run_id: uuid.UUID, action: Action
) -> tuple[ProjectAccess, Run, WorkOrder]:
    """The run, if it belongs to the project and the user may take `action` there."""
    try:
        access = project_access(db, user, project_id, action)
    except NotFound as exc:
        raise NotFound("Run not found.") from exc
    run, work_order = queries.get_run_with_work_order(db, run_id)
    if work_order.project_id != project_id:
        raise NotFound("Run not found.")
    return access, run, work_order


@router.get("/projects/{project_id}/runs/{run_id}")
def inspect_run(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
) -> Response:
    access, run, work_order = _load_run(db, user, project_id, run_id, Action.READ_HISTORY)
    detail = queries.run_detail(db, run, work_order)
    clip_ids = {run.dataclip_id, run.final_dataclip_id}
    clip_ids |= {s.input_dataclip_id for s in detail.steps} | {
        s.output_dataclip_id for s in detail.steps
    }
    views = clip_text.previews(db, [i for i in clip_ids if i is not None])
    logs = queries.list_log_lines(db, run.id, PageParams(page=1, page_size=LOG_LINES_SHOWN))
    selected = request.query_params.get("step")
    failed = {str(s.id) for s in detail.steps if s.exit_reason not in (None, "success")}
    open_steps = {selected} if selected else (failed or {str(s.id) for s in detail.steps})
    workflow = db.get(Workflow, work_order.workflow_id)
    siblings = db.exec(
        select(Run).where(col(Run.work_order_id) == work_order.id).order_by(col(Run.inserted_at))
    ).all()
    context = project_context(
        access,
        "history",
        run=detail,
        work_order=work_order,
        workflow=workflow,
        siblings=siblings,
        clips=views,
        logs=logs_by_step(logs.items),
        logs_total=logs.total,
        logs_shown=len(logs.items),
        lanes=timeline(detail),
        open_steps=open_steps,
        selected=selected,
        prefect=prefect_ui_url(),
        can_retry=access.allows(Action.RUN_WORKFLOWS) and run.is_final,
        can_name=access.allows(Action.RUN_WORKFLOWS),
    )
    return render(request, "pages/run.html", context, user=user)


@router.post("/projects/{project_id}/runs/{run_id}/retry", dependencies=[web.CSRFProtected])
def retry_from_step(
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    step_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """A new run on the same work order from the step's job, with its saved input."""
    _load_run(db, user, project_id, run_id, Action.RUN_WORKFLOWS)
    new_run = manual.retry_from_step(db, run_id, step_id, user.id)
    return redirect(f"/projects/{project_id}/runs/{new_run.id}")


@router.get("/projects/{project_id}/dataclips/{dataclip_id}")
def show_dataclip(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    dataclip_id: uuid.UUID,
) -> Response:
    """A whole dataclip body, for bodies too large for the inspector's preview."""
    try:
        access = project_access(db, user, project_id, Action.READ_HISTORY)
        dataclip = queries.get_dataclip(db, dataclip_id)
        if dataclip.project_id != project_id:
            raise NotFound("Dataclip not found.")
    except NotFound as exc:
        raise NotFound("Dataclip not found.") from exc
    number = request.query_params.get("part", "1")
    found = clip_text.part(db, dataclip.id, int(number) if number.isdigit() else 1)
    if found is None:
        raise NotFound("Dataclip not found.")
    view, parts = found
    try:
        back: uuid.UUID | None = uuid.UUID(request.query_params.get("run") or "")
    except ValueError:
        back = None
    current = min(max(int(number) if number.isdigit() else 1, 1), parts)
    context = project_context(access, "history", clip=view, back=back, part=current, parts=parts)
    return render(request, "pages/dataclip.html", context, user=user)


@router.get("/projects/{project_id}/dataclips/{dataclip_id}/download")
def download_dataclip(
    db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, dataclip_id: uuid.UUID
) -> Response:
    """The whole body as a JSON file (big bodies are never rendered in a page)."""
    try:
        project_access(db, user, project_id, Action.READ_HISTORY)
        dataclip = queries.get_dataclip(db, dataclip_id)
        if dataclip.project_id != project_id or dataclip.wiped_at is not None:
            raise NotFound("Dataclip not found.")
    except NotFound as exc:
        raise NotFound("Dataclip not found.") from exc
    disposition = f'attachment; filename="dataclip-{dataclip_id}.json"'
    return Response(
        clip_text.whole_text(db, dataclip_id),
        media_type="application/json",
        headers={"content-disposition": disposition},
    )


@router.post(
    "/projects/{project_id}/dataclips/{dataclip_id}/name", dependencies=[web.CSRFProtected]
)
def name_dataclip(
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    dataclip_id: uuid.UUID,
    run_id: Annotated[uuid.UUID, Form()],
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """ "Keep as test input": name (or rename; blank un-names) a step's input or output."""
    _load_run(db, user, project_id, run_id, Action.RUN_WORKFLOWS)
    dataclip = queries.get_dataclip(db, dataclip_id)
    if dataclip.project_id != project_id:
        raise NotFound("Dataclip not found.")
    dataclips.set_name(db, dataclip, name)
    return redirect(f"/projects/{project_id}/runs/{run_id}")
