"""Writing a batch of accepted webhook requests: a dataclip, a work order and a run
each, in one transaction, with the defaults of `runs/rows.py`.

On PostgreSQL the batch is ONE statement (three inserts chained as CTEs over
arrays, committed as it ends): one round trip whatever the batch size, and JSON
bodies go in as the request's own text, never serialised again in Python.
Other databases get the rows through SQLAlchemy, as the rest of the platform does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import Engine

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import rows as row_builder
from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder

log = logging.getLogger(__name__)
_DATACLIPS = Dataclip.__table__  # type: ignore[attr-defined]
_WORK_ORDERS = WorkOrder.__table__  # type: ignore[attr-defined]
_RUNS = Run.__table__  # type: ignore[attr-defined]
NIL = uuid.UUID(int=0)

_PG_INSERT = """
WITH clips AS (
  INSERT INTO dataclips (id, project_id, type, body, request, inserted_at, updated_at)
  SELECT id, project_id, %(clip_type)s, body::jsonb, request::jsonb, %(now)s, %(now)s
  FROM unnest(%(clip_ids)s::uuid[], %(project_ids)s::uuid[], %(bodies)b::text[],
              %(requests)b::text[]) AS x(id, project_id, body, request)
), orders AS (
  INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id, dataclip_id,
                           state, last_activity, inserted_at, updated_at)
  SELECT id, project_id, workflow_id, trigger_id, snapshot_id, dataclip_id,
         %(order_state)s, %(now)s, %(now)s, %(now)s
  FROM unnest(%(order_ids)s::uuid[], %(project_ids)s::uuid[], %(workflow_ids)s::uuid[],
              %(trigger_ids)s::uuid[], %(snapshot_ids)s::uuid[], %(clip_ids)s::uuid[])
    AS x(id, project_id, workflow_id, trigger_id, snapshot_id, dataclip_id)
)
INSERT INTO runs (id, work_order_id, snapshot_id, starting_trigger_id, dataclip_id, state,
                  priority, inserted_at)
SELECT id, work_order_id, snapshot_id, trigger_id, dataclip_id, %(run_state)s, %(priority)s,
       %(now)s
FROM unnest(%(run_ids)s::uuid[], %(order_ids)s::uuid[], %(snapshot_ids)s::uuid[],
            %(trigger_ids)s::uuid[], %(clip_ids)s::uuid[])
  AS x(id, work_order_id, snapshot_id, trigger_id, dataclip_id)
"""


class StoredBody(Protocol):
    """A request body as the HTTP edge parsed it (webhooks/bodies.py `Body`)."""

    @property
    def json(self) -> bytes | None: ...  # the JSON text as sent, if it is JSON

    @property
    def value(self) -> Any: ...

    @property
    def size(self) -> int: ...  # bytes received

    def parsed(self) -> Any: ...


class Target(Protocol):
    """Where an accepted request goes: the trigger's workflow and its latest snapshot
    (webhooks/lookup.py `WebhookTarget`)."""

    @property
    def project_id(self) -> uuid.UUID: ...

    @property
    def workflow_id(self) -> uuid.UUID: ...

    @property
    def trigger_id(self) -> uuid.UUID: ...

    @property
    def snapshot_id(self) -> uuid.UUID: ...


@dataclass(slots=True)
class Row:
    """One accepted request and, once `assign_ids` ran, the ids of its rows."""

    target: Target
    body: StoredBody
    request: dict[str, Any]
    dataclip_id: uuid.UUID = NIL
    work_order_id: uuid.UUID = NIL
    run_id: uuid.UUID = NIL


def assign_ids(rows: list[Row]) -> None:
    """Random (version 4) UUIDs for every row, from one read of the system's source."""
    pool = os.urandom(48 * len(rows))
    for at, row in zip(range(0, len(pool), 48), rows, strict=True):
        row.dataclip_id = uuid.UUID(bytes=pool[at : at + 16], version=4)
        row.work_order_id = uuid.UUID(bytes=pool[at + 16 : at + 32], version=4)
        row.run_id = uuid.UUID(bytes=pool[at + 32 : at + 48], version=4)


class BatchWriter:
    """Writes batches for one writer thread. On PostgreSQL it keeps a connection of its
    own in autocommit: the batch is one statement, committed as it ends, so a batch
    costs one round trip (each wait for the server costs the client CPU too)."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._conn: Any = None  # the psycopg connection, out of the engine's pool

    def write(self, engine: Engine, rows: list[Row]) -> None:
        """Insert every row's dataclip, work order and run in one transaction (or raise)."""
        if engine.dialect.name != "postgresql":
            _write_generic(engine, rows)
            return
        try:
            self._connection(engine).execute(_PG_INSERT, _pg_params(rows))
        except Exception:
            if not self._usable():  # a refused row leaves it usable; a lost server does not
                self.close()
            raise

    def _connection(self, engine: Engine) -> Any:
        if self._conn is None or engine is not self._engine:
            self.close()
            pooled = engine.raw_connection()
            conn: Any = pooled.driver_connection
            pooled.detach()  # ours for good: no GC cleanup, no pool reset
            conn.autocommit = True
            _prefer_lz4(conn)
            self._conn, self._engine = conn, engine
        return self._conn

    def _usable(self) -> bool:
        conn = self._conn
        return bool(
            conn is not None
            and not conn.closed
            and not conn.broken
            and conn.info.transaction_status == TransactionStatus.IDLE
        )

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = self._engine = None


def _prefer_lz4(conn: Any) -> None:
    """Compress large bodies with lz4 where the server has it (PostgreSQL 14+): several
    times cheaper than the default pglz on the hot path. This session only; readers
    decompress either kind."""
    try:
        conn.execute("SET default_toast_compression = 'lz4'")
    except Exception:  # older server or built without lz4: keep its default
        log.debug("lz4 compression unavailable; keeping the server's default", exc_info=True)


def _json_text(body: StoredBody) -> str:
    if body.json is not None:
        return body.json.decode()
    # As the engine's JSON columns serialise: non-ASCII kept, so searches find it.
    return json.dumps(body.value, ensure_ascii=False)


def _pg_params(batch: list[Row]) -> dict[str, Any]:
    return {
        "now": utcnow(),
        "clip_type": DataclipType.HTTP_REQUEST.value,
        "order_state": row_builder.WEBHOOK_WORK_ORDER_STATE.value,
        "run_state": row_builder.WEBHOOK_RUN_STATE.value,
        "priority": int(row_builder.WEBHOOK_PRIORITY),
        "clip_ids": _uuid_array([r.dataclip_id for r in batch]),
        "order_ids": _uuid_array([r.work_order_id for r in batch]),
        "run_ids": _uuid_array([r.run_id for r in batch]),
        "project_ids": _uuid_array([r.target.project_id for r in batch]),
        "workflow_ids": _uuid_array([r.target.workflow_id for r in batch]),
        "trigger_ids": _uuid_array([r.target.trigger_id for r in batch]),
        "snapshot_ids": _uuid_array([r.target.snapshot_id for r in batch]),
        "bodies": [_json_text(r.body) for r in batch],
        "requests": [orjson.dumps(r.request).decode() for r in batch],
    }


def _uuid_array(ids: list[uuid.UUID]) -> str:
    # An array literal: psycopg dumps lists element by element in Python, ~1 µs each.
    return "{" + ",".join([i.hex for i in ids]) + "}"


def _write_generic(engine: Engine, batch: list[Row]) -> None:
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(_DATACLIPS.insert(), [_dataclip(r, now) for r in batch])
        conn.execute(_WORK_ORDERS.insert(), [_work_order(r, now) for r in batch])
        conn.execute(_RUNS.insert(), [_run(r, now) for r in batch])


def _dataclip(row: Row, now: datetime) -> dict[str, Any]:
    return {
        "id": row.dataclip_id,
        "project_id": row.target.project_id,
        "type": DataclipType.HTTP_REQUEST.value,
        "body": row.body.parsed(),
        "request": row.request,
        "inserted_at": now,
        "updated_at": now,
    }


def _work_order(row: Row, now: datetime) -> dict[str, Any]:
    target = row.target
    return row_builder.work_order_row(
        project_id=target.project_id,
        workflow_id=target.workflow_id,
        snapshot_id=target.snapshot_id,
        dataclip_id=row.dataclip_id,
        trigger_id=target.trigger_id,
        run_state=row_builder.WEBHOOK_RUN_STATE,
        work_order_id=row.work_order_id,
        now=now,
    )


def _run(row: Row, now: datetime) -> dict[str, Any]:
    return row_builder.run_row(
        work_order_id=row.work_order_id,
        snapshot_id=row.target.snapshot_id,
        dataclip_id=row.dataclip_id,
        trigger_id=row.target.trigger_id,
        priority=row_builder.WEBHOOK_PRIORITY,
        state=row_builder.WEBHOOK_RUN_STATE,
        run_id=row.run_id,
        now=now,
    )
