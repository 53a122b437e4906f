"""`/api/projects/{project_id}/alerts`: the caller's failure alerts and digest;
`/api/projects/{project_id}/alert_webhook`: the project's outgoing alert webhook."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.notifications import subscriptions
from lightning_flows.notifications.schemas import (
    AlertSettings,
    AlertSettingsUpdate,
    AlertWebhookPublic,
    AlertWebhookUpdate,
)

router = APIRouter(prefix="/api/projects/{project_id}", tags=["alerts"])


@router.get("/alerts", response_model=AlertSettings)
def get_alerts(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    """Your failure alerts (on/off, whole project or some workflows) and digest."""
    authorize(session, user, Action.READ_PROJECT, project_id)
    return subscriptions.get_settings_of(session, project_id, user)


@router.put("/alerts", response_model=AlertSettings)
def update_alerts(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: AlertSettingsUpdate
) -> object:
    """Choose to be emailed when a run fails, crashes, is killed or lost: for the whole
    project (`"workflow_ids": null`) or some workflows; and a daily/weekly/monthly digest."""
    authorize(session, user, Action.READ_PROJECT, project_id)
    return subscriptions.update_settings(session, project_id, user, data)


@router.get("/alert_webhook", response_model=AlertWebhookPublic)
def get_alert_webhook(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    """Whether failure alerts are also posted to a URL (its host only)."""
    authorize(session, user, Action.READ_PROJECT, project_id)
    return subscriptions.webhook_of(session, project_id)


@router.put("/alert_webhook", response_model=AlertWebhookPublic)
def set_alert_webhook(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: AlertWebhookUpdate
) -> object:
    """Post every failure alert (throttled like the mails) as JSON to this URL (admins)."""
    authorize(session, user, Action.UPDATE_PROJECT, project_id)
    return subscriptions.set_webhook(session, project_id, data.url)


@router.delete("/alert_webhook", status_code=status.HTTP_204_NO_CONTENT)
def delete_alert_webhook(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> Response:
    """Stop posting alerts (admins)."""
    authorize(session, user, Action.UPDATE_PROJECT, project_id)
    subscriptions.remove_webhook(session, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
