"""Audit event response type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    id: uuid.UUID
    event: str
    item_type: str
    item_id: uuid.UUID
    actor_id: uuid.UUID | None
    project_id: uuid.UUID | None
    changes: dict[str, Any]
    details: dict[str, Any]
    inserted_at: datetime
