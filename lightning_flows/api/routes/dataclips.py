"""Named dataclips: `PATCH /api/dataclips/{id}` names (keeps) one; a project's named ones."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, PageDep, SessionDep
from lightning_flows.core.errors import NotFound
from lightning_flows.core.pagination import Page
from lightning_flows.runs import dataclips, queries
from lightning_flows.runs.schemas import DataclipNameUpdate, DataclipPublic, NamedDataclip

router = APIRouter(tags=["history"])


@router.patch("/api/dataclips/{dataclip_id}", response_model=DataclipPublic)
def name_dataclip(
    session: SessionDep, user: CurrentUser, dataclip_id: uuid.UUID, data: DataclipNameUpdate
) -> DataclipPublic:
    """Name a dataclip to keep it past data retention and find it by name (`null` or `""`
    removes the name; 409 if the name is taken in the project)."""
    dataclip = queries.get_dataclip(session, dataclip_id)
    try:  # a non-member sees the same 404 as for an unknown id
        authorize(session, user, Action.RUN_WORKFLOWS, dataclip.project_id)
    except NotFound as exc:
        raise NotFound("Dataclip not found.") from exc
    return queries.dataclip_public(dataclips.set_name(session, dataclip, data.name))


@router.get("/api/projects/{project_id}/dataclips", response_model=Page[NamedDataclip])
def list_named_dataclips(
    session: SessionDep,
    user: CurrentUser,
    project_id: uuid.UUID,
    page: PageDep,
    name: Annotated[
        str | None, Query(max_length=255, description="Part of the name (case-insensitive)")
    ] = None,
) -> Page[NamedDataclip]:
    """The project's named dataclips, by name."""
    authorize(session, user, Action.READ_HISTORY, project_id)
    return dataclips.list_named(session, project_id, page, name)
