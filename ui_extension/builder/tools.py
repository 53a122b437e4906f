"""Helpers the inspector calls while editing: cron descriptions, adaptor docs, versions.

Cron answers JSON; adaptor operations and the versions panel are HTML fragments
that htmx swaps into the page. Restoring a version answers `HX-Redirect`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options
from croniter import croniter
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from adaptor_tasks import AdaptorTasksError
from lightning_flows.accounts.policy import Action
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.core.node_runtime import get_repository
from lightning_flows.core.pagination import PageParams
from lightning_flows.core.timeutil import utcnow
from lightning_flows.workflows import versions
from ui_extension.builder.access import api_base, builder_url, project_access
from ui_extension.templating import render

router = APIRouter(prefix=api_base("{project_id}"))
NEXT_RUNS = 5
VERSIONS_SHOWN = 30


def describe_cron(expression: str, timezone: str = "UTC", count: int = NEXT_RUNS) -> dict[str, Any]:
    """A sentence for a cron expression and its next run times (ISO-8601, in `timezone`)."""
    expression = " ".join(expression.split())
    if not croniter.is_valid(expression) or len(expression.split()) != 5:
        return {"valid": False, "error": "Use five fields: minute hour day-of-month month weekday."}
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return {"valid": False, "error": f"Unknown timezone '{timezone}'."}
    options = Options()
    options.use_24hour_time_format = True
    text = ExpressionDescriptor(expression, options).get_description()
    times = croniter(expression, utcnow().astimezone(zone))
    upcoming = [times.get_next(datetime).isoformat() for _ in range(count)]
    return {"valid": True, "description": f"{text} ({timezone})", "next": upcoming}


@router.get("/cron")
def cron(
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    expression: Annotated[str, Query(max_length=255)],
    timezone: Annotated[str, Query(max_length=64)] = "UTC",
) -> dict[str, Any]:
    project_access(db, user, project_id)
    return describe_cron(expression, timezone)


@lru_cache(maxsize=64)
def _operations(specifier: str) -> tuple[str, list[dict[str, Any]]]:
    repository = get_repository()
    ref = repository.resolve(specifier)
    return ref.specifier, repository.operations(ref)


@router.get("/adaptors/operations")
def operations(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    adaptor: Annotated[str, Query(max_length=255)],
) -> Response:
    """The adaptor's operations with their docs (from its ast.json), as an HTML fragment."""
    project_access(db, user, project_id)
    try:
        resolved, found = _operations(adaptor.strip())
    except AdaptorTasksError as exc:
        context: dict[str, Any] = {"problem": str(exc), "adaptor": adaptor}
    else:
        context = {"operations": found, "adaptor": resolved}
    return render(request, "builder/operations.html", context, user=user)


@router.get("/workflows/{workflow_id}/versions")
def version_list(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
) -> Response:
    """The versions panel: newest first, with compare and restore controls."""
    access = project_access(db, user, project_id)
    page = versions.list_versions(
        db, project_id, workflow_id, PageParams(page=1, page_size=VERSIONS_SHOWN)
    )
    context = {
        "versions": page.items,
        "total": page.total,
        "can_edit": access.can_edit,
        "base": api_base(project_id),
        "workflow_id": workflow_id,
    }
    return render(request, "builder/versions.html", context, user=user)


@router.get("/workflows/{workflow_id}/versions/diff")
def version_diff(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    from_id: Annotated[uuid.UUID, Query(alias="from")],
    to_id: Annotated[uuid.UUID | None, Query(alias="to")] = None,
) -> Response:
    """What changed between two versions (job bodies as unified diffs)."""
    project_access(db, user, project_id)
    found = versions.diff_versions(db, project_id, workflow_id, from_id, to_id)
    return render(request, "builder/diff.html", {"d": found}, user=user)


@router.post("/workflows/{workflow_id}/versions/{version_id}/restore")
def restore(
    db: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    version_id: uuid.UUID,
) -> Response:
    """Save an old version as the newest, then reload the builder on it."""
    project_access(db, user, project_id, Action.WRITE_WORKFLOWS)
    versions.restore_version(db, project_id, workflow_id, version_id, user.id)
    return Response(status_code=204, headers={"HX-Redirect": builder_url(project_id, workflow_id)})
