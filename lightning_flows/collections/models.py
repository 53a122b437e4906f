"""Items of a project collection: a key and its value (JSON text), as Lightning stores them.

The collection itself (`collections`: project and name) lives in
`projects/spec_models.py`, because project.yaml lists it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class CollectionItem(SQLModel, table=True):
    __tablename__ = "collection_items"
    __table_args__ = (
        UniqueConstraint("collection_id", "key", name="uq_collection_items_collection_key"),
        Index("ix_collection_items_collection_order", "collection_id", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(_SERIAL, primary_key=True, autoincrement=True)
    )
    """Insertion order: cursors page by it, so an upsert keeps an item's place."""
    collection_id: uuid.UUID = fk("collections.id", index=False)
    key: str = Field(sa_column=Column(Text(), nullable=False))
    value: str = Field(sa_column=Column(Text(), nullable=False))
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
