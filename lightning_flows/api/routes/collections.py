"""Collections: `/api/projects/{id}/collections` to manage them, and `/collections/...`,
the API `@openfn/language-collections` speaks (Lightning's paths, verbs and bodies).

`/collections` accepts a run's `collections_token` or a personal access token.
`GET /collections/{name}` streams `{"items": [...], "cursor": ...}`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lightning_flows.accounts.policy import Action, authorize
from lightning_flows.api.deps import CurrentUser, SessionDep
from lightning_flows.collections import items, service
from lightning_flows.collections.access import Caller, authenticate, resolve
from lightning_flows.collections.models import CollectionItem
from lightning_flows.collections.schemas import (
    CollectionCreate,
    CollectionPublic,
    DeleteResult,
    ItemOut,
    ItemsPage,
    PutItem,
    PutItems,
    UpsertResult,
)
from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import InvalidInput

router = APIRouter(tags=["collections"])
_bearer = HTTPBearer(
    auto_error=False, description="A run's collections_token or a personal access token"
)
_QUERY_PARAMS = {
    "key",
    "cursor",
    "limit",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
    "project_id",
}


# --- managing a project's collections -------------------------------------------------


@router.get("/api/projects/{project_id}/collections", response_model=list[CollectionPublic])
def list_collections(session: SessionDep, user: CurrentUser, project_id: uuid.UUID) -> object:
    authorize(session, user, Action.READ_COLLECTIONS, project_id)
    return service.list_collections(session, project_id)


@router.post(
    "/api/projects/{project_id}/collections",
    response_model=CollectionPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_collection(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, data: CollectionCreate
) -> object:
    authorize(session, user, Action.WRITE_COLLECTIONS, project_id)
    return service.to_public(service.create_collection(session, project_id, data.name, user.id), 0)


@router.delete(
    "/api/projects/{project_id}/collections/{name}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_collection(
    session: SessionDep, user: CurrentUser, project_id: uuid.UUID, name: str
) -> None:
    authorize(session, user, Action.WRITE_COLLECTIONS, project_id)
    service.delete_collection(session, project_id, name, user.id)


# --- the collections API of jobs ------------------------------------------------------


def get_caller(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return authenticate(session, credentials.credentials if credentials else None)


CallerDep = Annotated[Caller, Depends(get_caller)]
ProjectParam = Annotated[
    uuid.UUID | None, Query(description="Which project's collection, when the name is in several")
]


@router.get(
    "/collections/{name}",
    responses={200: {"model": ItemsPage, "description": "Matching items, streamed"}},
    response_class=StreamingResponse,
)
def stream_items(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    name: str,
    key: Annotated[str, Query(description="A key or a pattern with '*' wildcards")] = "*",
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
    project_id: ProjectParam = None,
) -> StreamingResponse:
    """Items whose key matches `key`, oldest first, at most `limit` (default and cap:
    LIGHTNING_COLLECTION_PAGE_MAX); `cursor` is null when nothing more matches."""
    _known_params(request)
    collection = resolve(session, caller, name, project_id, Action.READ_COLLECTIONS)
    page_max = get_settings().collection_page_max
    query = items.ItemQuery(
        pattern=key,
        after=items.decode_cursor(cursor) if cursor else None,
        limit=min(limit or page_max, page_max),
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
    )
    return StreamingResponse(_stream(collection.id, query), media_type="application/json")


def _stream(collection_id: uuid.UUID, query: items.ItemQuery) -> Iterator[bytes]:
    found = items.Page()
    yield b'{"items": ['
    separator = b""
    for item in items.iter_page(session_scope, collection_id, query, found):
        yield separator + json.dumps(_item(item)).encode()
        separator = b","
    yield b'], "cursor": ' + json.dumps(found.cursor).encode() + b"}"


def _item(item: CollectionItem) -> dict[str, Any]:
    return ItemOut(
        key=item.key, value=item.value, created=item.inserted_at, updated=item.updated_at
    ).model_dump(mode="json")


@router.get(
    "/collections/{name}/{key}",
    response_model=ItemOut,
    responses={204: {"description": "No item has this key"}},
)
def get_item(
    session: SessionDep, caller: CallerDep, name: str, key: str, project_id: ProjectParam = None
) -> Any:
    collection = resolve(session, caller, name, project_id, Action.READ_COLLECTIONS)
    item = items.get(session, collection, key)
    if item is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _item(item)


@router.put("/collections/{name}/{key}", response_model=UpsertResult)
def put_item(
    session: SessionDep,
    caller: CallerDep,
    name: str,
    key: str,
    data: PutItem,
    project_id: ProjectParam = None,
) -> object:
    collection = resolve(session, caller, name, project_id, Action.WRITE_COLLECTIONS)
    count = items.put_many(
        session, collection, [(key, data.value)], caller.actor_id, via=caller.via
    )
    return UpsertResult(upserted=count)


@router.post("/collections/{name}", response_model=UpsertResult)
def put_items(
    session: SessionDep,
    caller: CallerDep,
    name: str,
    data: PutItems,
    project_id: ProjectParam = None,
) -> object:
    """Insert or replace every item of `items` (`[{key, value}]`, values as text)."""
    collection = resolve(session, caller, name, project_id, Action.WRITE_COLLECTIONS)
    pairs = [(i.key, i.value) for i in data.items]
    return UpsertResult(
        upserted=items.put_many(session, collection, pairs, caller.actor_id, via=caller.via)
    )


@router.delete("/collections/{name}/{key}", response_model=DeleteResult)
def delete_item(
    session: SessionDep, caller: CallerDep, name: str, key: str, project_id: ProjectParam = None
) -> object:
    collection = resolve(session, caller, name, project_id, Action.WRITE_COLLECTIONS)
    deleted = items.delete_one(session, collection, key, caller.actor_id, via=caller.via)
    return DeleteResult(key=key, deleted=deleted, error=None if deleted else "Item Not Found")


@router.delete("/collections/{name}", response_model=DeleteResult)
def delete_items(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    name: str,
    key: Annotated[str | None, Query(description="A pattern; none: every item")] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
    project_id: ProjectParam = None,
) -> object:
    """Delete the items matching `key` (a pattern) and the date filters."""
    _known_params(request)
    collection = resolve(session, caller, name, project_id, Action.WRITE_COLLECTIONS)
    query = items.ItemQuery(
        pattern=key or "*",
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        updated_before=updated_before,
    )
    deleted = items.delete_matching(session, collection, query, caller.actor_id, via=caller.via)
    return DeleteResult(key=key, deleted=deleted)


def _known_params(request: Request) -> None:
    unknown = sorted(set(request.query_params) - _QUERY_PARAMS)
    if unknown:
        raise InvalidInput(
            f"Unknown query parameter(s): {', '.join(unknown)}; "
            f"use {', '.join(sorted(_QUERY_PARAMS))}."
        )
