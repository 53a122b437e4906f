"""Dependencies shared by routes: the session, the current user, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lightning_flows.accounts import service as accounts
from lightning_flows.accounts.models import User
from lightning_flows.api import web
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import SessionDep
from lightning_flows.core.errors import Unauthenticated
from lightning_flows.core.pagination import PageParams

_bearer = HTTPBearer(auto_error=False, description="A personal access token")


def get_current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The caller: a personal access token, else the UI's session cookie.

    With the cookie (as the UI's scripts send it), state-changing requests must
    also carry the `X-CSRF-Token` header; bearer tokens need no CSRF token.
    """
    if credentials is not None:
        if credentials.scheme.lower() != "bearer":
            raise Unauthenticated("Send a personal access token: 'Authorization: Bearer <token>'.")
        return accounts.authenticate_token(session, credentials.credentials)
    found = web.session_from_request(request, session)
    if found is None or not found[0].mfa_verified:
        raise Unauthenticated("Send a personal access token: 'Authorization: Bearer <token>'.")
    if request.method not in web.SAFE_METHODS and not web.csrf_valid(
        request, request.headers.get(web.CSRF_HEADER)
    ):
        raise web.CSRFError(
            f"Requests authenticated by the session cookie need the {web.CSRF_HEADER} header "
            "(the token is in the page's csrf-token meta tag)."
        )
    return found[1]


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_page_params(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, description="Items per page")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=min(page_size, get_settings().page_size_max))


PageDep = Annotated[PageParams, Depends(get_page_params)]
