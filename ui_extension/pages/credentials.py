"""Credential pages: the list, create and edit through the adaptor's schema form (or raw
JSON), sharing with projects, transferring ownership, deleting.

Every change goes through `lightning_flows.credentials.service`, which enforces
ownership (others get 404) and `use_credentials` in each project shared with.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from lightning_flows.accounts.models import User
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from lightning_flows.credentials import service, usage, validation
from lightning_flows.credentials.schemas import CredentialCreate, CredentialUpdate
from lightning_flows.projects.models import Project
from ui_extension.pages import credential_form, schema_form
from ui_extension.pages.common import PageRoute
from ui_extension.pages.credential_form import CredentialForm
from ui_extension.templating import redirect, render

router = APIRouter(route_class=PageRoute)
DONE = {
    "created": "Credential created.",
    "saved": "Credential saved.",
    "transferred": "Credential transferred: it now belongs to its new owner.",
    "deleted": "Credential deleted.",
}


@router.get("/credentials")
def list_credentials(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    credentials = [service.to_public(db, c) for c in service.list_credentials(db, user)]
    project_ids = {link.project_id for c in credentials for link in c.project_credentials}
    names = dict(
        db.exec(select(Project.id, Project.name).where(col(Project.id).in_(project_ids))).all()
    )
    context = {
        "credentials": credentials,
        "project_names": names,
        "notice": DONE.get(request.query_params.get("done", "")),
        "choices": credential_form.schema_choices(),
    }
    return render(request, "pages/credentials.html", context, user=user)


def _form_page(
    request: Request,
    db: Session,
    user: User,
    form: CredentialForm,
    *,
    credential: Any = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    linked = {link.project_id for link in credential.project_credentials} if credential else set()
    context = {
        "form": form,
        "credential": credential,
        "projects": credential_form.shareable_projects(db, user, linked | form.project_ids),
        "error": error,
        "notice": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "pages/credential_form.html", context, user=user, status_code=status)


@router.get("/credentials/new")
def new_credential(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    schema_name = (
        request.query_params.get("schema") or request.query_params.get("other") or ""
    ).strip()
    if not schema_name:
        return redirect("/credentials#new-credential")
    form = credential_form.new_form(schema_name, request.query_params.get("mode", "form"))
    return _form_page(request, db, user, form)


@router.post("/credentials/new", dependencies=[web.CSRFProtected])
async def create_credential(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    data = await request.form()
    form = credential_form.new_form(
        str(data.get("schema") or "raw"), str(data.get("mode") or "form")
    )
    try:
        body = credential_form.read_submission(form, data)
        created = service.create_credential(
            db,
            user,
            CredentialCreate(
                name=form.name,
                schema=form.schema_name,
                body=schema_form.without_blanks(body),
                production=form.production,
                project_ids=sorted(form.project_ids, key=str),
            ),
        )
    except DomainError as exc:
        message = credential_form.apply_errors(form, exc)
        return _form_page(request, db, user, form, error=message, status=exc.status_code)
    return redirect(f"/credentials/{created.id}?done=created")


def _edit_form(credential: Any, mode: str) -> CredentialForm:
    form = credential_form.new_form(credential.schema_name, mode)
    form.name, form.production = credential.name, credential.production
    form.project_ids = {link.project_id for link in credential.project_credentials}
    form.values = schema_form.refill(form.fields, credential.body)
    form.raw_body = json.dumps(credential.body, indent=2)
    return form


@router.get("/credentials/{credential_id}")
def edit_credential(
    request: Request, db: SessionDep, user: web.SessionUser, credential_id: uuid.UUID
) -> Response:
    credential = service.to_public(db, service.get_credential(db, user, credential_id))
    form = _edit_form(credential, request.query_params.get("mode", "form"))
    return _form_page(request, db, user, form, credential=credential)


@router.post("/credentials/{credential_id}", dependencies=[web.CSRFProtected])
async def save_credential(
    request: Request, db: SessionDep, user: web.SessionUser, credential_id: uuid.UUID
) -> Response:
    credential = service.to_public(db, service.get_credential(db, user, credential_id))
    data = await request.form()
    form = _edit_form(credential, str(data.get("mode") or "form"))
    try:
        body = credential_form.read_submission(form, data)
        if not form.raw:
            body = _keep_blank_secrets(body, credential.body)
        service.update_credential(
            db,
            user,
            credential_id,
            CredentialUpdate(
                name=form.name,
                production=form.production,
                body=body,
                project_ids=sorted(form.project_ids, key=str),
            ),
        )
    except DomainError as exc:
        db.rollback()
        message = credential_form.apply_errors(form, exc)
        return _form_page(
            request, db, user, form, credential=credential, error=message, status=exc.status_code
        )
    return redirect(f"/credentials/{credential_id}?done=saved")


def _keep_blank_secrets(body: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A secret left blank keeps its stored value (sent as `********`); unset ones stay unset.

    `stored` is the masked body: a secret with a value reads `********` there. Raw JSON
    edits send `********` themselves.
    """
    kept = {}
    for key, value in body.items():
        if value != "":
            kept[key] = value
        elif stored.get(key) == validation.MASK:
            kept[key] = validation.MASK
    return kept


@router.post("/credentials/{credential_id}/transfer", dependencies=[web.CSRFProtected])
def transfer_credential(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    credential_id: uuid.UUID,
    email: Annotated[str, Form(max_length=255)],
) -> Response:
    credential = service.get_credential(db, user, credential_id)
    try:
        service.transfer_credential(db, user, credential_id, email)
    except DomainError as exc:
        db.rollback()
        public = service.to_public(db, credential)
        form = _edit_form(public, "form")
        message = exc.message.removeprefix("email: ")
        return _form_page(
            request, db, user, form, credential=public, error=message, status=exc.status_code
        )
    return redirect("/credentials?done=transferred")


@router.post("/credentials/{credential_id}/oauth", dependencies=[web.CSRFProtected])
def connect_oauth(db: SessionDep, user: web.SessionUser, credential_id: uuid.UUID) -> Response:
    """Send the owner to the provider to grant access; it comes back to /oauth/callback."""
    return redirect(usage.oauth_authorization_url(db, user, credential_id))


@router.post("/credentials/{credential_id}/delete", dependencies=[web.CSRFProtected])
def delete_credential(db: SessionDep, user: web.SessionUser, credential_id: uuid.UUID) -> Response:
    service.delete_credential(db, user, credential_id)
    return redirect("/credentials?done=deleted")
