"""Request and response bodies of the collections API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class CollectionCreate(BaseModel):
    name: str = Field(
        min_length=1,
        max_length=255,
        description="Lowercase letters and digits joined by '-', '_' or '.', unique per project.",
    )


class CollectionPublic(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    item_count: int | None = None
    inserted_at: datetime
    updated_at: datetime


class ItemIn(BaseModel):
    key: str = Field(min_length=1, max_length=1024)
    value: str = Field(description="The value as text (the adaptor sends JSON text).")


class PutItems(BaseModel):
    """`POST /collections/{name}`: upsert many items (Lightning's `put_all`)."""

    items: list[ItemIn]


class PutItem(BaseModel):
    """`PUT /collections/{name}/{key}`: upsert one item."""

    value: str


class ItemOut(BaseModel):
    key: str
    value: str
    created: datetime
    updated: datetime


class UpsertResult(BaseModel):
    upserted: int
    error: str | None = None


class DeleteResult(BaseModel):
    key: str | None = None
    deleted: int
    error: str | None = None


class ItemsPage(BaseModel):
    """What `GET /collections/{name}` streams: items in insertion order, and a cursor to
    the next page (null when there is none)."""

    items: list[ItemOut]
    cursor: str | None = None
