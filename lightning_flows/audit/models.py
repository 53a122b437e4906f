"""The audit trail: who changed what, and how (secret values never recorded)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from lightning_flows.core.models import created_at, fk, json_column, uuid_pk


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_item", "item_type", "item_id", "inserted_at"),
        Index("ix_audit_events_inserted", "inserted_at"),
    )

    id: uuid.UUID = uuid_pk()
    event: str = Field(max_length=64)
    item_type: str = Field(max_length=64)
    item_id: uuid.UUID
    actor_id: uuid.UUID | None = fk("users.id", ondelete="SET NULL", nullable=True)
    project_id: uuid.UUID | None = Field(
        default=None, index=True, description="The project the item belongs to (no FK: kept)"
    )
    changes: dict[str, Any] = json_column(nullable=False, default=dict)
    details: dict[str, Any] = json_column(nullable=False, default=dict)
    inserted_at: datetime = created_at()
