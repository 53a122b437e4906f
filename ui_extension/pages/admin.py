"""Superuser pages: every user (create, disable, superuser, reset MFA), every project,
and the audit trail with filters. Each route asks `require_superuser`, as the API does."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from lightning_flows.accounts import lifecycle, mfa
from lightning_flows.accounts import service as accounts
from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import require_superuser
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.audit import service as audit
from lightning_flows.core.errors import DomainError
from lightning_flows.core.pagination import PageParams, paginate
from lightning_flows.projects.models import Project, ProjectUser
from lightning_flows.workflows.models import Workflow
from ui_extension.pages.common import Pager, PageRoute, positive_int
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/admin", route_class=PageRoute)
PAGE_SIZE = 50
AUDIT_FILTERS = ("item_type", "event", "project_id", "item_id")
DONE = {"created": "User created.", "updated": "User updated.", "mfa_reset": "MFA turned off."}


def _superuser(user: User) -> User:
    require_superuser(user)
    return user


def _page(request: Request) -> PageParams:
    return PageParams(page=positive_int(request.query_params.get("page"), 1), page_size=PAGE_SIZE)


def _users_page(
    request: Request, db: Session, user: User, *, status: int = 200, **extra: object
) -> Response:
    page = paginate(db, select(User).order_by(col(User.email)), _page(request))
    context = {
        "users": page.items,
        "pager": Pager(page.page, page.page_size, page.total),
        "section": "users",
        "notice": DONE.get(request.query_params.get("done", "")),
        **extra,
    }
    return render(request, "pages/admin_users.html", context, user=user, status_code=status)


@router.get("/users")
def users(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    return _users_page(request, db, _superuser(user))


@router.post("/users", dependencies=[web.CSRFProtected])
def create_user(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    email: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    first_name: Annotated[str, Form(max_length=255)] = "",
    last_name: Annotated[str, Form(max_length=255)] = "",
    is_superuser: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    _superuser(user)
    try:
        data = UserCreate(
            email=email.strip(),
            password=password,
            first_name=first_name,
            last_name=last_name,
            is_superuser=bool(is_superuser),
        )
        accounts.create_user(db, data, actor=user)
    except ValidationError as exc:
        errors = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return _users_page(request, db, user, status=422, error=errors, form_email=email)
    except DomainError as exc:
        return _users_page(request, db, user, status=exc.status_code, error=exc.message)
    return redirect("/admin/users?done=created")


@router.post("/users/{user_id}", dependencies=[web.CSRFProtected])
def update_user(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    user_id: uuid.UUID,
    change: Annotated[str, Form(max_length=32)],
) -> Response:
    """`change` is one of disable, enable, grant_superuser, revoke_superuser, reset_mfa."""
    _superuser(user)
    target = accounts.get_user(db, user_id)
    try:
        if change in ("disable", "enable"):
            lifecycle.set_disabled(db, target, change == "disable", user)
        elif change in ("grant_superuser", "revoke_superuser"):
            lifecycle.set_superuser(db, target, change == "grant_superuser", user)
        elif change == "reset_mfa":
            mfa.disable(db, target, "", actor=user)
            return redirect("/admin/users?done=mfa_reset")
        else:
            return _users_page(request, db, user, status=422, error="Unknown change.")
    except DomainError as exc:
        return _users_page(request, db, user, status=exc.status_code, error=exc.message)
    return redirect("/admin/users?done=updated")


@router.get("/projects")
def all_projects(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    _superuser(user)
    page = paginate(db, select(Project).order_by(col(Project.name)), _page(request))
    ids = [p.id for p in page.items]
    members = dict(
        db.exec(
            select(ProjectUser.project_id, sa.func.count())
            .where(col(ProjectUser.project_id).in_(ids))
            .group_by(col(ProjectUser.project_id))
        ).all()
    )
    workflows = dict(
        db.exec(
            select(Workflow.project_id, sa.func.count())
            .where(col(Workflow.project_id).in_(ids), col(Workflow.deleted_at).is_(None))
            .group_by(col(Workflow.project_id))
        ).all()
    )
    context = {
        "rows": [(p, members.get(p.id, 0), workflows.get(p.id, 0)) for p in page.items],
        "pager": Pager(page.page, page.page_size, page.total),
        "section": "projects",
    }
    return render(request, "pages/admin_projects.html", context, user=user)


@router.get("/audit")
def audit_trail(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    _superuser(user)
    values = {k: (request.query_params.get(k) or "").strip() for k in AUDIT_FILTERS}
    ids: dict[str, uuid.UUID | None] = {}
    errors = []
    for key in ("project_id", "item_id"):
        try:
            ids[key] = uuid.UUID(values[key]) if values[key] else None
        except ValueError:
            errors.append(f"{key}: not a valid id (ignored).")
            values[key], ids[key] = "", None
    page = audit.list_events(
        db,
        user,
        _page(request),
        item_type=values["item_type"] or None,
        event=values["event"] or None,
        project_id=ids["project_id"],
        item_id=ids["item_id"],
    )
    actor_ids = {e.actor_id for e in page.items if e.actor_id}
    actors = dict(db.exec(select(User.id, User.email).where(col(User.id).in_(actor_ids))).all())
    query = tuple((k, v) for k, v in values.items() if v)
    context = {
        "events": page.items,
        "actors": actors,
        "values": values,
        "error": " ".join(errors) or None,
        "pager": Pager(page.page, page.page_size, page.total, query),
        "section": "audit",
    }
    return render(request, "pages/admin_audit.html", context, user=user)
