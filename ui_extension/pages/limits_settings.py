"""The project settings' limits form: per-step limits (admins), usage limits (superusers)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from lightning_flows.limits.policy import SUPERUSER_ONLY
from lightning_flows.projects import service as projects
from lightning_flows.projects.schemas import ProjectUpdate
from ui_extension.pages.common import PageRoute, project_access
from ui_extension.pages.settings import _first_error, _optional_int, settings_page
from ui_extension.templating import redirect

router = APIRouter(prefix="/projects/{project_id}/settings", route_class=PageRoute)
Number = Annotated[str, Form(max_length=20)]
LABELS = {
    "step_timeout_seconds": "Step timeout",
    "step_memory_limit_mb": "Step memory",
    "state_limit_bytes": "State size",
    "run_limit_per_month": "Runs per month",
    "max_concurrent_runs": "Runs at once",
}


@router.post("/limits", dependencies=[web.CSRFProtected])
def update_limits(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    step_timeout_seconds: Number = "",
    step_memory_limit_mb: Number = "",
    state_limit_bytes: Number = "",
    run_limit_per_month: Number = "",
    max_concurrent_runs: Number = "",
) -> Response:
    """Save the limits; empty means the instance's. Usage limits only from a superuser."""
    project_access(db, user, project_id, Action.UPDATE_PROJECT)
    given = {
        "step_timeout_seconds": step_timeout_seconds,
        "step_memory_limit_mb": step_memory_limit_mb,
        "state_limit_bytes": state_limit_bytes,
        "run_limit_per_month": run_limit_per_month,
        "max_concurrent_runs": max_concurrent_runs,
    }
    if not user.is_superuser:
        given = {k: v for k, v in given.items() if k not in SUPERUSER_ONLY}
    try:
        values = {k: _optional_int(v, LABELS[k]) for k, v in given.items()}
        projects.update_project(db, project_id, ProjectUpdate(**values), user)  # type: ignore[arg-type]
    except (ValidationError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else _first_error(exc)
        return settings_page(request, db, user, project_id, status=422, limits_error=message)
    return redirect(f"/projects/{project_id}/settings?done=saved#limits")
