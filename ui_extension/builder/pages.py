"""The builder page: `/projects/{project_id}/workflows/new` and `/.../workflows/{workflow_id}`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import DomainError
from lightning_flows.workflows import service
from ui_extension.builder.access import builder_url, project_access
from ui_extension.builder.context import builder_data
from ui_extension.templating import redirect, render

router = APIRouter()
Selected = Annotated[str | None, Query(alias="s", max_length=64)]


def _error_page(request: Request, user: web.SessionUser, exc: DomainError) -> Response:
    return render(
        request,
        "builder/error.html",
        {"error": exc.message},
        user=user,
        status_code=exc.status_code,
    )


def _base_url(request: Request) -> str:
    return get_settings().base_url or str(request.base_url)


@router.get("/projects/{project_id}/workflows/new")
def new_workflow(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    """An empty canvas (a webhook trigger and one job) for those who may write workflows."""
    try:
        access = project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    except DomainError as exc:
        return _error_page(request, user, exc)
    data = builder_data(db, access, None, base_url=_base_url(request), selected=None)
    context = {"data": data, "project": access.project, "workflow": None}
    return render(request, "builder/builder.html", context, user=user)


@router.get("/projects/{project_id}/workflows/{workflow_id}")
def edit_workflow(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    selected: Selected = None,
) -> Response:
    """The canvas of a saved workflow; `?s=<node or edge id>` opens with it selected."""
    try:
        access = project_access(db, user, project_id)
        workflow = service.to_public(db, service.get_workflow(db, project_id, workflow_id))
    except DomainError as exc:
        return _error_page(request, user, exc)
    data = builder_data(db, access, workflow, base_url=_base_url(request), selected=selected)
    context = {"data": data, "project": access.project, "workflow": workflow}
    return render(request, "builder/builder.html", context, user=user)


@router.get("/projects/{project_id}/w/{workflow_id}/history")
def workflow_history(
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    user: web.SessionUser,
    to: Annotated[uuid.UUID | None, Query()] = None,
    since: Annotated[uuid.UUID | None, Query(alias="from")] = None,
) -> Response:
    """Links in change emails: open the builder with its versions panel on that diff."""
    query = "?versions=1" + (f"&to={to}" if to else "") + (f"&from={since}" if since else "")
    return redirect(builder_url(project_id, workflow_id) + query)
