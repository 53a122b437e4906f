"""The projects list (and creating a project) and each project's dashboard."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.pagination import PageParams
from lightning_flows.limits import service as limits
from lightning_flows.projects import service as projects
from lightning_flows.projects.models import ProjectUser
from lightning_flows.projects.schemas import ProjectCreate
from lightning_flows.workflows.models import Workflow
from ui_extension.pages import metrics
from ui_extension.pages.common import (
    Pager,
    PageRoute,
    positive_int,
    project_access,
    project_context,
)
from ui_extension.pages.history_filters import history_url
from ui_extension.templating import redirect, render

router = APIRouter(route_class=PageRoute)
PAGE_SIZE = 25


@router.get("/")
def home(user: web.SessionUser) -> Response:
    return redirect("/projects")


def _list_page(
    request: Request, db: Session, user: User, *, status: int = 200, **extra: object
) -> Response:
    page = projects.list_projects(
        db,
        user,
        PageParams(page=positive_int(request.query_params.get("page"), 1), page_size=PAGE_SIZE),
    )
    ids = [p.id for p in page.items]
    roles = dict(
        db.exec(
            select(ProjectUser.project_id, ProjectUser.role).where(
                col(ProjectUser.project_id).in_(ids), ProjectUser.user_id == user.id
            )
        ).all()
    )
    workflow_counts = dict(
        db.exec(
            select(Workflow.project_id, sa.func.count())
            .where(col(Workflow.project_id).in_(ids), col(Workflow.deleted_at).is_(None))
            .group_by(col(Workflow.project_id))
        ).all()
    )
    rows = [(p, roles.get(p.id), workflow_counts.get(p.id, 0)) for p in page.items]
    context = {"rows": rows, "pager": Pager(page.page, page.page_size, page.total), **extra}
    return render(request, "pages/projects.html", context, user=user, status_code=status)


@router.get("/projects")
def list_projects(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    return _list_page(request, db, user)


@router.post("/projects", dependencies=[web.CSRFProtected])
def create_project(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    name: Annotated[str, Form(max_length=255)],
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    try:
        data = ProjectCreate(name=name.strip(), description=description)
    except ValidationError:
        return _list_page(
            request, db, user, status=422, error="Give the project a name.", form_name=name
        )
    project = projects.create_project(db, data, user)
    return redirect(f"/projects/{project.id}")


@router.get("/projects/{project_id}")
def dashboard(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    access = project_access(db, user, project_id)
    period = request.query_params.get("period", metrics.DEFAULT_PERIOD)
    if period not in metrics.PERIODS:
        period = metrics.DEFAULT_PERIOD
    since = metrics.period_start(period)
    total, workflows = metrics.project_stats(db, project_id, since)
    failed = [s.value for s in metrics.FAILED_WORK_ORDER_STATES]

    def failed_url(workflow_id: uuid.UUID | None = None) -> str:
        return history_url(project_id, states=failed, workflow_id=workflow_id, since=since)

    context = project_context(
        access,
        "dashboard",
        period=period,
        periods=metrics.PERIODS,
        since=since,
        total=total,
        workflows=workflows,
        failed_url=failed_url,
        history_url=history_url,
        usage=limits.usage(db, access.project),
    )
    return render(request, "pages/dashboard.html", context, user=user)
