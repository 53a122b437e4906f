"""Project-level records of OpenFn's spec that the platform keeps for round-trips.

Collections (named key-value stores for jobs) and channels (HTTP proxies) are
stored so a project file round-trips losslessly; their APIs and proxies are not
built yet, so a channel can only be stored disabled.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, uuid_pk


class Collection(SQLModel, table=True):
    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_collections_project_name"),)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    name: str = Field(max_length=255)
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()


class Channel(SQLModel, table=True):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_channels_project_name"),)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = fk("projects.id")
    name: str = Field(max_length=255)
    destination_url: str = Field(max_length=2048)
    enabled: bool = False
    destination_credential_id: uuid.UUID | None = fk(
        "project_credentials.id", ondelete="SET NULL", nullable=True
    )
    inserted_at: datetime = created_at()
    updated_at: datetime = created_at()
