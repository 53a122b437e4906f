"""Database engine, sessions and the column types shared by every model."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import JSON, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, create_engine

from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import as_utc

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _json_dumps(value: Any) -> str:
    # Keep non-ASCII text as it is, so searching stored JSON finds "José".
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the per-backend settings the platform relies on."""
    kwargs.setdefault("json_serializer", _json_dumps)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Recycle instead of pinging before every checkout (a round trip per transaction).
    return create_engine(url, pool_recycle=300, pool_size=10, max_overflow=20, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_lock = threading.Lock()
_engine: Engine | None = None


def get_engine() -> Engine:
    """The process-wide engine for the configured database (created on first use)."""
    global _engine
    with _lock:
        if _engine is None:
            settings = get_settings()
            if settings.resolved_database_url.startswith("sqlite"):
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            _engine = make_engine(settings.resolved_database_url)
        return _engine


def reset_engine() -> None:
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI, flows, loops)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session() -> Iterator[Session]:
    """A session for one request (a FastAPI dependency: routes commit what they change)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
