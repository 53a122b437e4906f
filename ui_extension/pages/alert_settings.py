"""The project settings' alerts form: each member's failure alerts and digest, and the
project's alert webhook (admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from lightning_flows.accounts.policy import Action
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError, InvalidInput
from lightning_flows.notifications import subscriptions
from lightning_flows.notifications.schemas import AlertSettingsUpdate
from lightning_flows.projects.models import Digest
from ui_extension.pages.common import PageRoute, project_access
from ui_extension.pages.settings import _first_error, settings_page
from ui_extension.templating import redirect

router = APIRouter(prefix="/projects/{project_id}/settings", route_class=PageRoute)


@router.post("/alerts", dependencies=[web.CSRFProtected])
async def update_alerts(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    """Save your own alerts: on/off, every workflow or the ones ticked, and the digest."""
    project_access(db, user, project_id)
    form = await request.form()
    try:
        some = form.get("scope") == "some"
        ids = [uuid.UUID(str(v)) for v in form.getlist("workflow_ids")] if some else None
        data = AlertSettingsUpdate(
            enabled=form.get("failure_alert") == "on",
            workflow_ids=ids,
            digest=Digest(str(form.get("digest", Digest.NEVER.value))),
        )
        subscriptions.update_settings(db, project_id, user, data)
    except ValueError as exc:
        message = _first_error(exc) if isinstance(exc, ValidationError) else "Choose from the list."
        return settings_page(request, db, user, project_id, status=422, alerts_error=message)
    except DomainError as exc:
        return settings_page(
            request, db, user, project_id, status=exc.status_code, alerts_error=exc.message
        )
    return redirect(f"/projects/{project_id}/settings?done=alerts_saved#alerts")


@router.post("/alert_webhook", dependencies=[web.CSRFProtected])
def set_alert_webhook(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    url: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    project_access(db, user, project_id, Action.UPDATE_PROJECT)
    try:
        if not url.strip():
            raise InvalidInput("url: enter the URL that receives the alerts.")
        subscriptions.set_webhook(db, project_id, url)
    except DomainError as exc:
        return settings_page(
            request, db, user, project_id, status=exc.status_code, webhook_error=exc.message
        )
    return redirect(f"/projects/{project_id}/settings?done=alert_webhook_saved#alerts")


@router.post("/alert_webhook/delete", dependencies=[web.CSRFProtected])
def delete_alert_webhook(db: SessionDep, user: web.SessionUser, project_id: uuid.UUID) -> Response:
    project_access(db, user, project_id, Action.UPDATE_PROJECT)
    subscriptions.remove_webhook(db, project_id)
    return redirect(f"/projects/{project_id}/settings?done=alert_webhook_removed#alerts")
