"""Project collections: create, list, find and delete them (items are in `items.py`).

Names follow Lightning: lowercase letters and digits in groups joined by one
`-`, `_` or `.` (URL safe), unique within a project. Another project's
collection is answered as missing, never as forbidden.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.audit import service as audit
from lightning_flows.audit.models import AuditEvent
from lightning_flows.collections.models import CollectionItem
from lightning_flows.collections.schemas import CollectionPublic
from lightning_flows.core.errors import Conflict, InvalidInput, NotFound
from lightning_flows.projects.spec_models import Collection

NAME_PATTERN = re.compile(r"^[a-z0-9]+([\-_.][a-z0-9]+)*$")
NAME_RULE = (
    "lowercase letters and digits, in groups joined by one '-', '_' or '.' "
    "(e.g. 'patient-ids' or 'mappings.v2')"
)


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name) or len(name) > 255:
        raise InvalidInput(
            f"Collection name '{name}' is not URL safe: use {NAME_RULE}, up to 255 characters.",
            details=[{"loc": "name", "message": f"use {NAME_RULE}"}],
        )
    return name


def list_collections(session: Session, project_id: uuid.UUID) -> list[CollectionPublic]:
    """The project's collections by name, each with its item count."""
    counts = dict(
        session.exec(
            select(CollectionItem.collection_id, func.count())
            .join(Collection, col(Collection.id) == col(CollectionItem.collection_id))
            .where(Collection.project_id == project_id)
            .group_by(col(CollectionItem.collection_id))
        ).all()
    )
    rows = session.exec(
        select(Collection).where(Collection.project_id == project_id).order_by(col(Collection.name))
    ).all()
    return [to_public(row, counts.get(row.id, 0)) for row in rows]


def to_public(row: Collection, item_count: int | None = None) -> CollectionPublic:
    return CollectionPublic(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        item_count=item_count,
        inserted_at=row.inserted_at,
        updated_at=row.updated_at,
    )


def create_collection(
    session: Session, project_id: uuid.UUID, name: str, actor_id: uuid.UUID | None
) -> Collection:
    check_name(name)
    if find(session, project_id, name) is not None:
        raise Conflict(f"This project already has a collection named '{name}'.")
    row = Collection(project_id=project_id, name=name)
    session.add(row)
    audit.record(
        session, "created", "collection", row.id, actor_id, after={"name": name},
        project_id=project_id,
    )  # fmt: skip
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent create of the same name
        session.rollback()
        raise Conflict(f"This project already has a collection named '{name}'.") from exc
    return row


def find(session: Session, project_id: uuid.UUID, name: str) -> Collection | None:
    return session.exec(
        select(Collection).where(Collection.project_id == project_id, Collection.name == name)
    ).first()


def get_by_name(session: Session, project_id: uuid.UUID, name: str) -> Collection:
    """The project's collection `name`, or NotFound (also for another project's)."""
    row = find(session, project_id, name)
    if row is None:
        raise NotFound(f"Collection '{name}' does not exist in this project.")
    return row


def delete_collection(
    session: Session, project_id: uuid.UUID, name: str, actor_id: uuid.UUID | None
) -> None:
    """Delete a collection and every item in it."""
    row = get_by_name(session, project_id, name)
    audit.record(
        session, "deleted", "collection", row.id, actor_id, before={"name": row.name},
        project_id=project_id,
    )  # fmt: skip
    session.delete(row)
    session.commit()


def recent_changes(session: Session, collection: Collection, limit: int = 10) -> list[AuditEvent]:
    """The collection's latest audit events, newest first (the table page shows them)."""
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.item_type == "collection", AuditEvent.item_id == collection.id)
            .order_by(col(AuditEvent.inserted_at).desc())
            .limit(limit)
        ).all()
    )
