"""Credentials as the engine needs them: decrypted only at execution time."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.credentials.models import Credential, ProjectCredential


def bodies_for_project_credentials(
    session: Session, project_credential_ids: set[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """Decrypted credential bodies keyed by project_credential id (only call inside a step)."""
    if not project_credential_ids:
        return {}
    rows = session.exec(
        select(ProjectCredential, Credential)
        .join(Credential, Credential.id == ProjectCredential.credential_id)  # type: ignore[arg-type]
        .where(col(ProjectCredential.id).in_(project_credential_ids))
    ).all()
    return {pc.id: dict(cred.body) for pc, cred in rows}
