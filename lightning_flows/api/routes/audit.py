"""`GET /api/audit`: the audit trail, filtered to what the caller may see."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.audit import service
from lightning_flows.audit.schemas import AuditEventPublic
from lightning_flows.core.pagination import Page

router = APIRouter(tags=["audit"])


@router.get("/api/audit", response_model=Page[AuditEventPublic])
def list_audit_events(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    item_type: Annotated[str | None, Query(max_length=64, examples=["credential"])] = None,
    item_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    event: Annotated[str | None, Query(max_length=64, examples=["login_failed"])] = None,
) -> object:
    """Newest first. Superusers see everything; others see their projects' events,
    their own account's, their credentials' and their own actions."""
    return service.list_events(
        session,
        user,
        page,
        item_type=item_type,
        item_id=item_id,
        project_id=project_id,
        event=event,
    )
