"""Dependencies shared by routes: the session, the current user, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from lightning_flows.accounts import service as accounts
from lightning_flows.accounts.models import User
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import Unauthenticated
from lightning_flows.core.pagination import PageParams


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="A personal access token")


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Send a personal access token: 'Authorization: Bearer <token>'.")
    return accounts.authenticate_token(session, credentials.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_page_params(
    page: Annotated[int, Query(ge=1, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, description="Items per page")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=min(page_size, get_settings().page_size_max))


PageDep = Annotated[PageParams, Depends(get_page_params)]
