"""The "New workflow from a template" gallery: pick a starting point, name the
workflow, and land in the builder; and save a workflow of the project as a
project (or, for superusers, instance) template."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from lightning_flows.templates import service
from lightning_flows.workflows.models import Workflow
from ui_extension.pages.common import PageRoute, project_access, project_context
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/projects/{project_id}/templates", route_class=PageRoute)


def _gallery(
    request: Request,
    db: Session,
    user: User,
    project_id: uuid.UUID,
    status: int = 200,
    **extra: object,
) -> Response:
    access = project_access(db, user, project_id, Action.READ_WORKFLOWS)
    workflows = db.exec(
        select(Workflow)
        .where(Workflow.project_id == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name))
    ).all()
    context = project_context(
        access,
        "templates",
        templates=[t.public() for t in service.list_templates(db, project_id)],
        workflows=workflows,
        superuser=user.is_superuser,
        **extra,
    )
    return render(request, "pages/templates.html", context, user=user, status_code=status)


@router.get("")
def gallery(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    return _gallery(request, db, user, project_id)


@router.post("/{template_id}/use", dependencies=[web.CSRFProtected])
def use_template(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    template_id: uuid.UUID,
    name: Annotated[str, Form(max_length=255)],
) -> Response:
    """Create the workflow and open it in the builder."""
    project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    try:
        created = service.create_from_template(db, project_id, template_id, name.strip(), user.id)
    except DomainError as exc:
        db.rollback()
        return _gallery(
            request, db, user, project_id, exc.status_code,
            error=exc.message, error_template=template_id,
        )  # fmt: skip
    return redirect(f"/projects/{project_id}/workflows/{created.id}")


@router.post("", dependencies=[web.CSRFProtected])
def save_template(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    workflow_id: Annotated[uuid.UUID, Form()],
    name: Annotated[str, Form(min_length=1, max_length=255)],
    description: Annotated[str, Form(max_length=2000)] = "",
    scope: Annotated[str, Form()] = "project",
) -> Response:
    project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    try:
        service.save_template(
            db, user, project_id, workflow_id, name.strip(), description.strip(),
            "instance" if scope == "instance" else "project",
        )  # fmt: skip
    except DomainError as exc:
        db.rollback()
        return _gallery(request, db, user, project_id, exc.status_code, save_error=exc.message)
    return redirect(f"/projects/{project_id}/templates?saved={name.strip()}")
