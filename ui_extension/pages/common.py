"""What every page of a project shares: the page route class, access checks, paging.

`PageRoute` renders domain errors (from the policy, CSRF check, or a service)
as an HTML page with the error's status, instead of the API's JSON. A page asks
the policy once with `project_access(...)`; the result's `can` map tells the
template which controls to show (the same `is_allowed` the API applies).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlmodel import Session

from lightning_flows.accounts.models import User
from lightning_flows.accounts.policy import Action, authorize, is_allowed
from lightning_flows.api import web
from lightning_flows.core.db import get_engine
from lightning_flows.core.errors import DomainError
from lightning_flows.projects import service as projects
from lightning_flows.projects.models import Project
from ui_extension.templating import render


class PageRoute(APIRoute):
    """A route whose domain errors become an HTML error page (same status as the API's)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return error_page(request, exc)

        return page_handler


def error_page(request: Request, exc: DomainError) -> Response:
    with Session(get_engine()) as db:
        user = web.optional_session_user(request, db)
        return render(
            request,
            "pages/error.html",
            {"status": exc.status_code, "message": exc.message},
            user=user,
            status_code=exc.status_code,
        )


@dataclass
class ProjectAccess:
    """A project the user may see, their role in it, and what the policy lets them do."""

    project: Project
    user: User
    role: str | None
    can: dict[str, bool] = field(default_factory=dict)

    def allows(self, action: Action) -> bool:
        return self.can[action.value]


def project_access(
    db: Session, user: User, project_id: uuid.UUID, action: Action = Action.READ_PROJECT
) -> ProjectAccess:
    """Authorize `action` (NotFound/Forbidden as the API) and load the project."""
    membership = authorize(db, user, action, project_id)
    role = membership.role if membership else None
    can = {a.value: is_allowed(role, a, superuser=user.is_superuser) for a in Action}
    return ProjectAccess(projects.get_project(db, project_id), user, role, can)


def project_context(access: ProjectAccess, section: str, **extra: Any) -> dict[str, Any]:
    """Template context of a project page (`section` highlights the project nav link)."""
    return {
        "project": access.project,
        "role": access.role,
        "can": access.can,
        "section": section,
        **extra,
    }


@dataclass(frozen=True)
class Pager:
    """Links to the previous and next page of a server-side paginated list."""

    page: int
    page_size: int
    total: int
    query: tuple[tuple[str, str], ...] = ()
    capped: bool = False  # `total` is a lower bound ("more than ...")

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def url(self, page: int) -> str:
        params = [*self.query, ("page", str(page))]
        return "?" + urlencode(params)

    @property
    def previous(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None


def positive_int(value: str | None, default: int, maximum: int | None = None) -> int:
    """A page number or size from the query string; anything unusable gives `default`."""
    try:
        number = int(value or default)
    except ValueError:
        return default
    number = max(1, number)
    return min(number, maximum) if maximum else number
