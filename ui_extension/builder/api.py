"""The builder's JSON endpoints: save the whole document, start a manual run.

Authenticated like the REST API (`CurrentUser`: the page sends its session cookie
and the `X-CSRF-Token` header, which state changes need; 401 when signed out);
authorised by the same policy as the REST API. Save errors come back as
`{detail, errors: [{loc, message, target: {kind, id, field}}]}`.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from lightning_flows.accounts.policy import Action
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.errors import Conflict, DomainError, InvalidInput, NotFound
from lightning_flows.runs import manual
from lightning_flows.webhooks import auth_methods
from lightning_flows.workflows import service
from lightning_flows.workflows.models import VersionSource, Workflow
from lightning_flows.workflows.schemas import WorkflowDocument, WorkflowPublic
from ui_extension.builder import errors
from ui_extension.builder.access import (
    Access,
    api_base,
    builder_url,
    project_access,
    run_url,
)
from ui_extension.builder.context import trigger_auth

router = APIRouter(prefix=api_base("{project_id}"))


class SaveRequest(BaseModel):
    document: dict[str, Any]
    trigger_auth: dict[uuid.UUID, list[uuid.UUID]] | None = Field(
        default=None, description="Webhook auth methods per trigger id (admins only)."
    )


class RunRequest(BaseModel):
    body: Any = None
    dataclip_id: uuid.UUID | None = None
    start_job_id: uuid.UUID | None = None


def _problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _save(
    db: Session, access: Access, data: SaveRequest, workflow_id: uuid.UUID | None
) -> JSONResponse:
    try:
        doc = WorkflowDocument.model_validate(data.document)
    except ValidationError as exc:
        found = errors.from_validation(exc, data.document)
        return _problem(422, "The workflow has problems; see the marked steps.", errors=found)
    user_id, project_id = access.user.id, access.project.id
    try:
        if workflow_id is None:
            public = service.create_workflow(db, project_id, doc, user_id, VersionSource.APP)
        else:
            current = service.get_workflow(db, project_id, workflow_id)
            if doc.lock_version is not None and doc.lock_version != current.lock_version:
                return _problem(
                    409,
                    "Someone else saved this workflow since you opened it. Reload the page "
                    "to see their version (copy your changes first).",
                    stale=True,
                )
            public = service.update_workflow(
                db, project_id, workflow_id, doc, user_id, VersionSource.APP
            )
    except (InvalidInput, Conflict) as exc:
        found = errors.from_domain(exc, data.document)
        return _problem(exc.status_code, exc.message, errors=found, stale=False)
    warnings = _apply_trigger_auth(db, access, public, data.trigger_auth)
    return JSONResponse(
        {
            "workflow": public.model_dump(mode="json"),
            "url": builder_url(project_id, public.id),
            "trigger_auth": trigger_auth(db, [t.id for t in public.triggers]),
            "compile": errors.compile_warnings(public),
            "warnings": warnings,
        },
        status_code=201 if workflow_id is None else 200,
    )


def _apply_trigger_auth(
    db: Session,
    access: Access,
    public: WorkflowPublic,
    wanted: dict[uuid.UUID, list[uuid.UUID]] | None,
) -> list[str]:
    """Set webhook auth methods that changed (only admins may; others' choices are ignored)."""
    if not wanted or not access.can_manage_auth:
        return []
    current = trigger_auth(db, [t.id for t in public.triggers])
    problems = []
    for trigger in public.triggers:
        ids = wanted.get(trigger.id)
        if trigger.type != "webhook" or ids is None:
            continue
        if sorted(map(str, ids)) == sorted(current.get(str(trigger.id), [])):
            continue
        try:
            auth_methods.set_trigger_methods(db, access.project.id, trigger.id, ids, access.user.id)
        except DomainError as exc:
            problems.append(f"Webhook authentication was not changed: {exc.message}")
    return problems


@router.post("/workflows")
def create(db: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: SaveRequest) -> Any:
    """Save a new workflow (its first version)."""
    access = project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    return _save(db, access, data, None)


@router.put("/workflows/{workflow_id}")
def update(
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    data: SaveRequest,
) -> Any:
    """Replace the workflow's document (a new version); 409 when someone saved since."""
    access = project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    return _save(db, access, data, workflow_id)


@router.post("/workflows/{workflow_id}/runs", status_code=201)
def start_run(
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    data: RunRequest,
) -> dict[str, str]:
    """A manual run of the saved workflow with a custom input or a previous one."""
    project_access(db, user, project_id, Action.RUN_WORKFLOWS)
    workflow = db.get(Workflow, workflow_id)
    if workflow is None or workflow.project_id != project_id or workflow.deleted_at is not None:
        raise NotFound("Workflow not found.")
    enqueued = manual.enqueue_manual(
        db,
        workflow,
        body=data.body,
        dataclip_id=data.dataclip_id,
        start_job_id=data.start_job_id,
        user_id=user.id,
    )
    return {
        "run_id": str(enqueued.run.id),
        "work_order_id": str(enqueued.work_order.id),
        "url": run_url(project_id, enqueued.run.id),
    }
