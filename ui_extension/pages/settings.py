"""Project settings: general, data retention, MFA requirement, concurrency, members and
roles, your failure alerts and digest (and the project's alert webhook), webhook auth
methods (and which webhook triggers require them), deletion.

Each form posts to its own route, authorized with the same action as the API's.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, grantable_roles
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import DomainError, InvalidInput
from lightning_flows.credentials.models import WebhookAuthType
from lightning_flows.limits.policy import instance_maxima
from lightning_flows.maintenance.preview import preview as retention_preview
from lightning_flows.notifications import subscriptions
from lightning_flows.projects import service as projects
from lightning_flows.projects.models import RetentionPolicy, Role
from lightning_flows.projects.schemas import MemberCreate, MemberUpdate, ProjectUpdate
from lightning_flows.webhooks import auth_methods
from lightning_flows.workflows.models import Trigger, TriggerType, Workflow
from ui_extension.pages.common import PageRoute, project_access, project_context
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/projects/{project_id}/settings", route_class=PageRoute)
Text = Annotated[str, Form(max_length=10_000)]
DONE = {
    "saved": "Settings saved.",
    "member_added": "Member added.",
    "member_updated": "Role changed.",
    "member_removed": "Member removed.",
    "ownership_transferred": "Ownership transferred; you are now an admin of this project.",
    "method_deleted": "Webhook auth method deleted.",
    "triggers_saved": "The trigger's auth methods were saved.",
    "imported": "Project imported from YAML.",
    "alerts_saved": "Your alert settings were saved.",
    "alert_webhook_saved": "The alert webhook was saved.",
    "alert_webhook_removed": "The alert webhook was removed.",
}


def webhook_triggers(db: Session, project_id: uuid.UUID) -> list[tuple[Trigger, str]]:
    """The project's live webhook triggers with their workflow's name."""
    rows = db.exec(
        select(Trigger, Workflow.name)
        .join(Workflow, col(Workflow.id) == col(Trigger.workflow_id))
        .where(
            col(Workflow.project_id) == project_id,
            col(Workflow.deleted_at).is_(None),
            col(Trigger.type) == TriggerType.WEBHOOK.value,
        )
        .order_by(col(Workflow.name))
    ).all()
    return [(trigger, name) for trigger, name in rows]


def settings_page(
    request: Request,
    db: Session,
    user: User,
    project_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    access = project_access(db, user, project_id)
    context = project_context(
        access,
        "settings",
        members=projects.list_members(db, project_id),
        roles=grantable_roles(access.role, superuser=user.is_superuser),
        policies=list(RetentionPolicy),
        methods=auth_methods.list_methods(db, project_id),
        triggers=webhook_triggers(db, project_id),
        webhook_base=f"{(get_settings().base_url or str(request.base_url)).rstrip('/')}/i/",
        notice=DONE.get(request.query_params.get("done", "")),
        retention=retention_preview(db, access.project),
        instance_limits=instance_maxima(),
        **alert_context(db, project_id, user, access.role is not None),
        **extra,
    )
    return render(request, "pages/settings.html", context, user=user, status_code=status)


def alert_context(db: Session, project_id: uuid.UUID, user: User, member: bool) -> dict[str, Any]:
    """The caller's alert settings (members only), the workflows to choose from, and
    whether the project posts alerts to a webhook."""
    workflows = db.exec(
        select(Workflow.id, Workflow.name)
        .where(col(Workflow.project_id) == project_id, col(Workflow.deleted_at).is_(None))
        .order_by(col(Workflow.name))
    ).all()
    return {
        "alerts": subscriptions.get_settings_of(db, project_id, user) if member else None,
        "alert_workflows": workflows,
        "alert_webhook": subscriptions.webhook_of(db, project_id),
    }


def _done(project_id: uuid.UUID, what: str, anchor: str) -> Response:
    return redirect(f"/projects/{project_id}/settings?done={what}#{anchor}")


def _optional_int(value: str, label: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidInput(f"{label}: enter a whole number, or leave it empty.") from exc


@router.get("")
def show(
    request: Request, db: SessionDep, user: web.SessionUser, project_id: uuid.UUID
) -> Response:
    return settings_page(request, db, user, project_id)


@router.post("", dependencies=[web.CSRFProtected])
def update(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    name: Text,
    retention_policy: Text,
    description: Text = "",
    history_retention_days: Text = "",
    dataclip_retention_days: Text = "",
    concurrency: Text = "",
    requires_mfa: Text = "",
) -> Response:
    project_access(db, user, project_id, Action.UPDATE_PROJECT)
    try:
        data = ProjectUpdate(
            name=name.strip(),
            description=description,
            retention_policy=RetentionPolicy(retention_policy),
            history_retention_days=_optional_int(history_retention_days, "History retention"),
            dataclip_retention_days=_optional_int(dataclip_retention_days, "Data retention"),
            concurrency=_optional_int(concurrency, "Concurrency"),
            requires_mfa=bool(requires_mfa),
        )
    except (ValidationError, ValueError, InvalidInput) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else _first_error(exc)
        return settings_page(request, db, user, project_id, status=422, error=message)
    projects.update_project(db, project_id, data, user)
    return _done(project_id, "saved", "general")


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


@router.post("/members", dependencies=[web.CSRFProtected])
def add_member(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    email: Annotated[str, Form(max_length=255)],
    role: Annotated[Role, Form()],
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_MEMBERS)
    try:
        projects.add_member(db, project_id, MemberCreate(email=email.strip(), role=role), user)
    except (DomainError, ValidationError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "Enter a valid email address."
        return settings_page(request, db, user, project_id, status=422, member_error=message)
    return _done(project_id, "member_added", "members")


@router.post("/members/{user_id}", dependencies=[web.CSRFProtected])
def change_role(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Annotated[Role, Form()],
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_MEMBERS)
    try:
        projects.update_member(db, project_id, user_id, MemberUpdate(role=role), user)
    except DomainError as exc:
        return settings_page(
            request, db, user, project_id, status=exc.status_code, member_error=exc.message
        )
    return _done(project_id, "member_updated", "members")


@router.post("/owner", dependencies=[web.CSRFProtected])
def transfer_ownership(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    user_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """Make another member the owner; the owner becomes an admin (owner only)."""
    project_access(db, user, project_id, Action.TRANSFER_OWNERSHIP)
    try:
        projects.transfer_ownership(db, project_id, user_id, user)
    except DomainError as exc:
        return settings_page(
            request, db, user, project_id, status=exc.status_code, member_error=exc.message
        )
    return _done(project_id, "ownership_transferred", "members")


@router.post("/members/{user_id}/remove", dependencies=[web.CSRFProtected])
def remove_member(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_MEMBERS)
    try:
        projects.remove_member(db, project_id, user_id, user)
    except DomainError as exc:
        return settings_page(
            request, db, user, project_id, status=exc.status_code, member_error=exc.message
        )
    return _done(project_id, "member_removed", "members")


@router.post("/webhook_auth", dependencies=[web.CSRFProtected])
def create_method(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    name: Annotated[str, Form(max_length=255)],
    auth_type: Annotated[WebhookAuthType, Form()],
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str | None, Form(max_length=1024)] = None,
    api_key: Annotated[str | None, Form(max_length=1024)] = None,
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_WEBHOOK_AUTH)
    try:
        data = auth_methods.AuthMethodCreate(
            name=name.strip(),
            auth_type=auth_type,
            username=username.strip() or None,
            password=password or None,
            api_key=api_key or None,
        )
        created = auth_methods.create_method(db, project_id, data, user.id)
    except (DomainError, ValidationError) as exc:
        message = exc.message if isinstance(exc, DomainError) else _first_error(exc)
        return settings_page(request, db, user, project_id, status=422, method_error=message)
    return settings_page(request, db, user, project_id, created_method=created)


@router.post("/webhook_auth/{method_id}/delete", dependencies=[web.CSRFProtected])
def delete_method(
    db: SessionDep, user: web.SessionUser, project_id: uuid.UUID, method_id: uuid.UUID
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_WEBHOOK_AUTH)
    auth_methods.delete_method(db, project_id, method_id, user.id)
    return _done(project_id, "method_deleted", "webhook-auth")


@router.post("/triggers/{trigger_id}/auth", dependencies=[web.CSRFProtected])
async def set_trigger_methods(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    trigger_id: uuid.UUID,
) -> Response:
    project_access(db, user, project_id, Action.MANAGE_WEBHOOK_AUTH)
    form = await request.form()
    try:
        ids = [uuid.UUID(str(v)) for v in form.getlist("method_ids")]
    except ValueError as exc:
        raise InvalidInput("Choose auth methods from the list.") from exc
    auth_methods.set_trigger_methods(db, project_id, trigger_id, ids, user.id)
    return _done(project_id, "triggers_saved", "webhook-auth")


@router.post("/delete", dependencies=[web.CSRFProtected])
def delete_project(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    project_id: uuid.UUID,
    confirm_name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    access = project_access(db, user, project_id, Action.DELETE_PROJECT)
    if confirm_name.strip() != access.project.name:
        return settings_page(
            request,
            db,
            user,
            project_id,
            status=422,
            delete_error="Type the project's name exactly to delete it.",
        )
    projects.delete_project(db, project_id, user)
    return redirect("/projects")
