"""Items of a collection: get, upsert, delete and match by key pattern, page by cursor.

Values are text (the adaptor sends JSON text), at most
`LIGHTNING_COLLECTION_VALUE_MAX_BYTES` each. Key patterns use `*` for any run
of characters, matched case-sensitively on both databases. Items come in
insertion order; an upsert keeps an item's place. A cursor is opaque to
clients: it marks the last item returned.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from lightning_flows.audit import service as audit
from lightning_flows.collections.models import CollectionItem
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import InvalidInput
from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.spec_models import Collection

_BATCH = 100  # rows read per query while streaming a page
_AUDIT_KEYS = 20  # keys named in one audit event


@dataclass
class ItemQuery:
    """A key pattern and filters; `after` is the decoded cursor."""

    pattern: str = "*"
    after: int | None = None
    limit: int = 1000
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


@dataclass
class Page:
    """Items streamed by `iter_page`; `cursor` is set once iteration has ended."""

    cursor: str | None = None
    count: int = 0
    _done: bool = field(default=False, repr=False)


def encode_cursor(item_id: int) -> str:
    return base64.b64encode(str(item_id).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "cursor is not valid: pass back the cursor of the previous answer unchanged"
        ) from exc


def check_value(key: str, value: str) -> None:
    limit = get_settings().collection_value_max_bytes
    if len(value.encode()) > limit:
        raise InvalidInput(f"The value of '{key}' is larger than {limit} bytes.")


def get(session: Session, collection: Collection, key: str) -> CollectionItem | None:
    return session.exec(
        select(CollectionItem).where(
            CollectionItem.collection_id == collection.id, CollectionItem.key == key
        )
    ).first()


def put_many(
    session: Session,
    collection: Collection,
    pairs: list[tuple[str, str]],
    actor_id: uuid.UUID | None,
    *,
    via: str,
) -> int:
    """Insert or replace items (the last of a repeated key wins); commits; the count."""
    latest = dict(pairs)
    for key, value in latest.items():
        check_value(key, value)
    if not latest:
        return 0
    now = utcnow()
    rows = [
        {
            "collection_id": collection.id,
            "key": k,
            "value": v,
            "inserted_at": now,
            "updated_at": now,
        }
        for k, v in latest.items()
    ]
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CollectionItem).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["collection_id", "key"],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    session.execute(statement)
    _audit(session, collection, "items_upserted", list(latest), actor_id, via)
    session.commit()
    return len(latest)


def delete_one(
    session: Session, collection: Collection, key: str, actor_id: uuid.UUID | None, *, via: str
) -> int:
    result: Any = session.execute(
        delete(CollectionItem).where(
            col(CollectionItem.collection_id) == collection.id, col(CollectionItem.key) == key
        )
    )
    if result.rowcount:
        _audit(session, collection, "items_deleted", [key], actor_id, via)
    session.commit()
    return int(result.rowcount or 0)


def delete_matching(
    session: Session,
    collection: Collection,
    query: ItemQuery,
    actor_id: uuid.UUID | None,
    *,
    via: str,
) -> int:
    """Delete every item the pattern and filters match (the cursor and limit do not apply)."""
    match = _where(session, collection.id, query)
    keys = list(session.exec(select(CollectionItem.key).where(*match).limit(_AUDIT_KEYS)).all())
    result: Any = session.execute(delete(CollectionItem).where(*match))
    if result.rowcount:
        _audit(session, collection, "items_deleted", keys, actor_id, via, count=result.rowcount)
    session.commit()
    return int(result.rowcount or 0)


def count(session: Session, collection: Collection, query: ItemQuery | None = None) -> int:
    match = _where(session, collection.id, query or ItemQuery())
    return int(session.exec(select(func.count()).select_from(CollectionItem).where(*match)).one())


def page(
    session: Session, collection: Collection, query: ItemQuery
) -> tuple[list[Any], str | None]:
    """One page of items (for the UI and small answers) and the cursor after it."""
    found = Page()
    items = list(iter_page(lambda: nullcontext(session), collection.id, query, found))
    return items, found.cursor


def iter_page(
    open_session: Any, collection_id: uuid.UUID, query: ItemQuery, found: Page
) -> Iterator[CollectionItem]:
    """Up to `query.limit` items, read `_BATCH` at a time (each batch in its own
    `with open_session()`, so a slow client holds no transaction). Sets
    `found.cursor` when more items match after the last one yielded."""
    after, sent = query.after, 0
    while sent < query.limit:
        want = min(_BATCH, query.limit - sent)
        with open_session() as session:
            match = _where(session, collection_id, query)
            if after is not None:
                match.append(col(CollectionItem.id) > after)
            statement = select(CollectionItem).where(*match).order_by(col(CollectionItem.id))
            rows = list(session.exec(statement.limit(want + 1)).all())
        yield from rows[:want]
        sent += min(len(rows), want)
        found.count = sent
        if len(rows) <= want:
            return
        after = rows[want - 1].id
    if after is not None and sent:
        found.cursor = encode_cursor(after)


def _where(session: Session, collection_id: uuid.UUID, query: ItemQuery) -> list[Any]:
    match: list[Any] = [col(CollectionItem.collection_id) == collection_id]
    if query.pattern and query.pattern != "*":
        match.append(_key_matches(session, query.pattern))
    for column, op, value in (
        (CollectionItem.inserted_at, "ge", query.created_after),
        (CollectionItem.inserted_at, "lt", query.created_before),
        (CollectionItem.updated_at, "ge", query.updated_after),
        (CollectionItem.updated_at, "lt", query.updated_before),
    ):
        if value is not None:
            match.append(col(column) >= value if op == "ge" else col(column) < value)
    return match


def _key_matches(session: Session, pattern: str) -> Any:
    """`*` is any run of characters; everything else is literal and case-sensitive."""
    key = col(CollectionItem.key)
    if "*" not in pattern:
        return key == pattern
    if session.get_bind().dialect.name == "sqlite":  # LIKE ignores case there; GLOB does not
        literal = "".join(f"[{c}]" if c in "?[" else c for c in pattern)
        return key.op("GLOB")(literal)
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return key.like(escaped.replace("*", "%"), escape="\\")


def _audit(
    session: Session,
    collection: Collection,
    event: str,
    keys: list[str],
    actor_id: uuid.UUID | None,
    via: str,
    count: int | None = None,
) -> None:
    """One event per change request: the keys (not the values), how many, and by what."""
    audit.record(
        session,
        event,
        "collection",
        collection.id,
        actor_id,
        project_id=collection.project_id,
        details={
            "collection": collection.name,
            "keys": keys[:_AUDIT_KEYS],
            "count": count if count is not None else len(keys),
            "via": via,
        },
    )
