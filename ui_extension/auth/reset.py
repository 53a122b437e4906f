"""Password reset pages: ask for an emailed link, then choose a new password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lightning_flows.accounts import auth
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from ui_extension.templating import render

router = APIRouter()
SENT = (
    "If an account exists for that address, we have emailed it a link to reset the "
    "password. The link works once, for a limited time."
)


@router.get("/password/reset")
def request_form(request: Request) -> Response:
    return render(request, "auth/reset_request.html", {})


@router.post("/password/reset", dependencies=[web.CSRFProtected])
def request_reset(
    request: Request, db: SessionDep, email: Annotated[str, Form(max_length=255)]
) -> Response:
    try:
        auth.request_password_reset(db, email)
    except DomainError as exc:
        return render(
            request,
            "auth/reset_request.html",
            {"error": exc.message, "email": email},
            status_code=exc.status_code,
        )
    return render(request, "auth/message.html", {"title": "Check your email", "message": SENT})


@router.get("/password/reset/{token}")
def confirm_form(request: Request, db: SessionDep, token: str) -> Response:
    try:
        auth.find_reset_token(db, token)
    except DomainError as exc:
        return render(
            request,
            "auth/message.html",
            {"title": "Link not valid", "message": exc.message, "link": "/password/reset"},
            status_code=exc.status_code,
        )
    return render(request, "auth/reset_confirm.html", {"token": token})


@router.post("/password/reset/{token}", dependencies=[web.CSRFProtected])
def confirm_reset(
    request: Request,
    db: SessionDep,
    token: str,
    new_password: Annotated[str, Form(max_length=1024)],
    confirm_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        if new_password != confirm_password:
            raise DomainError("The two passwords differ; type the same password twice.")
        auth.reset_password(db, token, new_password)
    except DomainError as exc:
        return render(
            request,
            "auth/reset_confirm.html",
            {"token": token, "error": exc.message},
            status_code=422,
        )
    return render(
        request,
        "auth/message.html",
        {
            "title": "Password changed",
            "message": "Your password is changed and you are signed out everywhere.",
            "link": "/login",
            "link_text": "Sign in",
        },
    )
