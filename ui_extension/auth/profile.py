"""The profile page: change password, MFA enrolment (QR code), personal access tokens."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lightning_flows.accounts import auth, mfa, service, sessions
from lightning_flows.accounts.models import User
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from ui_extension.templating import redirect, render

router = APIRouter(prefix="/profile")
Secret = Annotated[str, Form(max_length=1024)]


def _page(
    request: Request,
    db: SessionDep,
    user: User,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = {
        "user": user,
        "tokens": service.list_api_tokens(db, user),
        "backup_codes_left": mfa.remaining_backup_codes(user),
        **extra,
    }
    return render(request, "auth/profile.html", context, user=user, status_code=status)


def _qr_data_uri(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


@router.get("")
def profile(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    return _page(request, db, user)


@router.post("/password", dependencies=[web.CSRFProtected])
def change_password(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    current_password: Secret,
    new_password: Secret,
    confirm_password: Secret,
) -> Response:
    """Every session is ended; this browser gets a fresh one."""
    try:
        if new_password != confirm_password:
            raise DomainError("The two new passwords differ; type the same password twice.")
        auth.change_password(db, user, current_password, new_password)
    except DomainError as exc:
        return _page(request, db, user, status=422, password_error=exc.message)
    token = sessions.create_session(
        db, user, mfa_verified=True, user_agent=request.headers.get("user-agent", "")
    )
    response = _page(
        request,
        db,
        user,
        notice="Password changed. Your other sessions are signed out.",
    )
    web.set_session_cookie(response, token)
    return response


@router.post("/mfa/enrol", dependencies=[web.CSRFProtected])
def start_mfa(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    try:
        secret = mfa.start_enrolment(db, user)
    except DomainError as exc:
        return _page(request, db, user, status=exc.status_code, mfa_error=exc.message)
    uri = mfa.provisioning_uri(user)
    return _page(request, db, user, enrolment={"secret": secret, "qr": _qr_data_uri(uri)})


@router.post("/mfa/confirm", dependencies=[web.CSRFProtected])
def confirm_mfa(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    code: Annotated[str, Form(max_length=16)],
) -> Response:
    try:
        codes = mfa.confirm_enrolment(db, user, code)
    except DomainError as exc:
        enrolment = None
        if user.mfa_secret and not user.mfa_enabled:
            uri = mfa.provisioning_uri(user)
            enrolment = {"secret": user.mfa_secret, "qr": _qr_data_uri(uri)}
        return _page(
            request, db, user, status=exc.status_code, mfa_error=exc.message, enrolment=enrolment
        )
    return _page(request, db, user, backup_codes=codes, notice="MFA is on.")


@router.post("/mfa/backup_codes", dependencies=[web.CSRFProtected])
def new_backup_codes(request: Request, db: SessionDep, user: web.SessionUser) -> Response:
    try:
        codes = mfa.regenerate_backup_codes(db, user)
    except DomainError as exc:
        return _page(request, db, user, status=exc.status_code, mfa_error=exc.message)
    return _page(request, db, user, backup_codes=codes, notice="New backup codes; old ones void.")


@router.post("/mfa/disable", dependencies=[web.CSRFProtected])
def disable_mfa(
    request: Request, db: SessionDep, user: web.SessionUser, password: Secret | None = None
) -> Response:
    try:
        mfa.disable(db, user, password or "")
    except DomainError as exc:
        return _page(request, db, user, status=exc.status_code, mfa_error=exc.message)
    return _page(request, db, user, notice="MFA is off.")


@router.post("/tokens", dependencies=[web.CSRFProtected])
def create_token(
    request: Request,
    db: SessionDep,
    user: web.SessionUser,
    name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    _token, plaintext = service.create_api_token(db, user, name.strip())
    return _page(request, db, user, new_token=plaintext, notice="Token created.")


@router.post("/tokens/{token_id}/revoke", dependencies=[web.CSRFProtected])
def revoke_token(
    request: Request, db: SessionDep, user: web.SessionUser, token_id: uuid.UUID
) -> Response:
    try:
        service.revoke_api_token(db, user, token_id)
    except DomainError as exc:
        return _page(request, db, user, status=exc.status_code, token_error=exc.message)
    return redirect("/profile#tokens")
