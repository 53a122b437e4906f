"""Recording audit events inside the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from lightning_flows.audit.models import AuditEvent


def record(
    session: Session,
    event: str,
    item_type: str,
    item_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits with the change it describes.

    Callers pass field names and non-secret values only: never a secret.
    """
    row = AuditEvent(
        event=event,
        item_type=item_type,
        item_id=item_id,
        actor_id=actor_id,
        changes={"before": before or {}, "after": after or {}},
        details=details or {},
    )
    session.add(row)
    return row
