"""Sign in (password, then the MFA step), SSO, sign out and registration pages."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from lightning_flows.accounts import auth, instance, mfa, oidc, providers, sessions
from lightning_flows.accounts.models import User
from lightning_flows.accounts.schemas import UserCreate
from lightning_flows.api import web
from lightning_flows.api.deps import SessionDep
from lightning_flows.core.errors import DomainError
from ui_extension.templating import AFTER_LOGIN, redirect, render

router = APIRouter()
SSO_COOKIE = "lf_sso"
Text = Annotated[str, Form(max_length=1024)]
Next = Annotated[str, Form(max_length=2048)]


def _login_page(
    request: Request, db: SessionDep, next_url: str, *, error: str | None = None, status: int = 200
) -> Response:
    return render(
        request,
        "auth/login.html",
        {
            "next": next_url,
            "error": error,
            "providers": providers.list_providers(db, enabled_only=True),
            "registration": instance.registration_allowed(db),
        },
        status_code=status,
    )


def _signed_in(request: Request, db: SessionDep, user: User, next_url: str) -> Response:
    """Start a fresh session (the old cookie is dropped) and go on, or to the MFA step."""
    sessions.end_session(db, request.cookies.get(web.session_cookie_name()))
    token = sessions.create_session(
        db, user, mfa_verified=False, user_agent=request.headers.get("user-agent", "")
    )
    target = web.safe_next(next_url, AFTER_LOGIN)
    response = redirect(f"/login/mfa?next={quote(target)}" if user.mfa_enabled else target)
    web.set_session_cookie(response, token)
    return response


@router.get("/login")
def login_form(request: Request, db: SessionDep, user: web.OptionalSessionUser) -> Response:
    next_url = web.safe_next(request.query_params.get("next"), AFTER_LOGIN)
    if user is not None:
        return redirect(next_url)
    return _login_page(request, db, next_url)


@router.post("/login", dependencies=[web.CSRFProtected])
def login(
    request: Request, db: SessionDep, email: Text, password: Text, next: Next = ""
) -> Response:
    try:
        user = auth.authenticate_password(db, email, password)
    except DomainError as exc:
        return _login_page(request, db, next, error=exc.message, status=exc.status_code)
    return _signed_in(request, db, user, next)


@router.get("/login/mfa")
def mfa_form(request: Request, db: SessionDep) -> Response:
    found = web.session_from_request(request, db)
    next_url = web.safe_next(request.query_params.get("next"), AFTER_LOGIN)
    if found is None:
        return redirect("/login")
    if found[0].mfa_verified:
        return redirect(next_url)
    return render(request, "auth/mfa.html", {"next": next_url})


@router.post("/login/mfa", dependencies=[web.CSRFProtected])
def mfa_verify(
    request: Request, db: SessionDep, code: Annotated[str, Form(max_length=64)], next: Next = ""
) -> Response:
    found = web.session_from_request(request, db)
    if found is None:
        return redirect("/login")
    user_session, user = found
    if user_session.mfa_verified:
        return redirect(web.safe_next(next, AFTER_LOGIN))
    try:
        ok = mfa.verify(db, user, code)
    except DomainError as exc:  # locked out: start again from the password
        sessions.end_session(db, request.cookies.get(web.session_cookie_name()))
        response = _login_page(request, db, next, error=exc.message, status=exc.status_code)
        web.clear_session_cookie(response)
        return response
    if not ok:
        error = "That code is not valid (or was already used); try the current one."
        return render(request, "auth/mfa.html", {"next": next, "error": error}, status_code=401)
    sessions.mark_mfa_verified(db, user_session)
    return redirect(web.safe_next(next, AFTER_LOGIN))


@router.post("/logout", dependencies=[web.CSRFProtected])
def logout(request: Request, db: SessionDep) -> Response:
    sessions.end_session(db, request.cookies.get(web.session_cookie_name()))
    response = redirect("/login")
    web.clear_session_cookie(response)
    return response


@router.get("/register")
def register_form(request: Request, db: SessionDep) -> Response:
    if not instance.registration_allowed(db):
        return render(request, "auth/register.html", {"closed": True}, status_code=403)
    return render(request, "auth/register.html", {})


@router.post("/register", dependencies=[web.CSRFProtected])
def register(
    request: Request,
    db: SessionDep,
    email: Text,
    password: Text,
    first_name: Annotated[str, Form(max_length=255)] = "",
    last_name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    form = {"email": email, "first_name": first_name, "last_name": last_name}
    try:
        data = UserCreate(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
        user = auth.register(db, data)
    except ValidationError as exc:
        errors = [f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()]
        return render(request, "auth/register.html", {"errors": errors, **form}, status_code=422)
    except DomainError as exc:
        return render(
            request,
            "auth/register.html",
            {"errors": [exc.message], **form},
            status_code=exc.status_code,
        )
    return _signed_in(request, db, user, AFTER_LOGIN)


@router.get("/auth/sso/{provider_id}")
def sso_start(request: Request, db: SessionDep, provider_id: uuid.UUID) -> Response:
    next_url = web.safe_next(request.query_params.get("next"), AFTER_LOGIN)
    try:
        url, cookie = oidc.begin_login(providers.get_provider(db, provider_id), next_url)
    except DomainError as exc:
        return _login_page(request, db, next_url, error=exc.message, status=exc.status_code)
    response = redirect(url)
    web.set_short_cookie(response, SSO_COOKIE, cookie, oidc.STATE_TTL_SECONDS)
    return response


@router.get("/auth/sso/{provider_id}/callback")
def sso_callback(request: Request, db: SessionDep, provider_id: uuid.UUID) -> Response:
    params = request.query_params
    try:
        provider = providers.get_provider(db, provider_id)
        if params.get("error"):
            raise oidc.SSOError(f"The identity provider said: {params.get('error')}.")
        pending = oidc.read_cookie(
            web.read_cookie(request, SSO_COOKIE), provider.id, params.get("state", "")
        )
        user = oidc.finish_login(db, provider, params.get("code", ""), pending)
    except DomainError as exc:
        return _login_page(request, db, AFTER_LOGIN, error=exc.message, status=exc.status_code)
    response = _signed_in(request, db, user, str(pending.get("next") or AFTER_LOGIN))
    response.delete_cookie(web.cookie_name(SSO_COOKIE), path="/")
    return response
