"""Projects as code in the UI: download a project as `project.yaml`, and import a YAML
document after previewing what it would change (`lightning_flows.provisioning`)."""

from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError, InvalidInput
from lightning_flows.provisioning import export
from lightning_flows.provisioning import service as provisioning
from lightning_flows.provisioning.yamlio import load_yaml
from ui_extension.pages.common import PageRoute, project_access, project_context
from ui_extension.pages.settings import settings_page
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/projects/{project_id}", route_class=PageRoute)
MAX_YAML_BYTES = 5_000_000


@router.get("/project.yaml")
def download_yaml(db: SessionDep, user: web.SessionUser, project_id: uuid.UUID) -> Response:
    access = project_access(db, user, project_id, Action.READ_WORKFLOWS)
    text = export.project_yaml(db, access.project)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", access.project.name).strip("-") or "project"
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{slug}.yaml"'},
    )


async def _submitted_yaml(request: Request) -> str:
    """The YAML pasted into the textarea, or else the uploaded file's."""
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("yaml") or "")
    if not text.strip() and isinstance(upload, UploadFile):
        content = await upload.read(MAX_YAML_BYTES + 1)
        if len(content) > MAX_YAML_BYTES:
            raise InvalidInput("That file is too large for a project document.")
        text = content.decode("utf-8", errors="replace")
    if not text.strip():
        raise InvalidInput("Paste a project.yaml document or choose a file to import.")
    return text


@router.post("/settings/import", dependencies=[web.CSRFProtected])
async def preview_import(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    access = project_access(db, user, project_id, Action.PROVISION)
    try:
        text = await _submitted_yaml(request)
        diff = provisioning.preview(db, user, load_yaml(text), project_id)
    except DomainError as exc:
        db.rollback()
        return settings_page(
            request,
            db,
            user,
            project_id,
            status=exc.status_code,
            import_error=exc.message,
            import_errors=exc.details or [],
        )
    context = project_context(access, "settings", diff=diff, yaml_text=text)
    return render(request, "pages/import_preview.html", context, user=user)


@router.post("/settings/import/apply", dependencies=[web.CSRFProtected])
async def apply_import(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    project_access(db, user, project_id, Action.PROVISION)
    try:
        text = await _submitted_yaml(request)
        provisioning.provision(db, user, load_yaml(text), project_id, via="ui")
    except DomainError as exc:
        db.rollback()
        return settings_page(
            request,
            db,
            user,
            project_id,
            status=exc.status_code,
            import_error=exc.message,
            import_errors=exc.details or [],
        )
    return redirect(f"/projects/{project_id}/settings?done=imported#project-code")
