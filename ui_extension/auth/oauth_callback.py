"""`/oauth/callback`: where an OAuth2 provider sends the credential owner back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lightning_flows.api.deps import SessionDep
from lightning_flows.api.web import SessionUser
from lightning_flows.core.errors import DomainError
from lightning_flows.credentials import usage
from ui_extension.templating import render

router = APIRouter()


@router.get("/oauth/callback")
def oauth_callback(request: Request, db: SessionDep, user: SessionUser) -> Response:
    params = request.query_params
    try:
        if params.get("error"):
            raise DomainError(f"The provider did not grant access: {params.get('error')}.")
        credential = usage.complete_oauth(db, user, params.get("code", ""), params.get("state", ""))
    except DomainError as exc:
        return render(
            request,
            "auth/message.html",
            {"title": "Could not connect the credential", "message": exc.message},
            user=user,
            status_code=exc.status_code,
        )
    return render(
        request,
        "auth/message.html",
        {
            "title": "Credential connected",
            "message": f"'{credential.name}' is connected; runs will use and refresh its token.",
        },
        user=user,
    )
