"""Intake: the durability promise. A request is acknowledged only after the
transaction holding its dataclip, work order and run (`available`) commits;
after that, the run will happen.

Requests arriving together are written by one writer thread in one
transaction (group commit): the commit cost is shared, so intake keeps up with
bursts. A failed batch is retried request by request, so one bad request never
fails the others.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from lightning_flows.core.db import get_engine
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder
from lightning_flows.runs.states import RunState, WorkOrderState
from lightning_flows.webhooks.lookup import WebhookTarget

log = logging.getLogger(__name__)
_DATACLIPS = Dataclip.__table__  # type: ignore[attr-defined]
_WORK_ORDERS = WorkOrder.__table__  # type: ignore[attr-defined]
_RUNS = Run.__table__  # type: ignore[attr-defined]
MAX_BATCH = 256


@dataclass
class _Pending:
    target: WebhookTarget
    body: Any
    request: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[uuid.UUID, uuid.UUID]]
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID] = field(
        default_factory=lambda: (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    )


def _rows(items: list[_Pending]) -> tuple[list[dict[str, Any]], ...]:
    now = utcnow()
    clips, orders, runs = [], [], []
    for item in items:
        dataclip_id, work_order_id, run_id = item.ids
        target = item.target
        clips.append(
            {
                "id": dataclip_id,
                "project_id": target.project_id,
                "type": DataclipType.HTTP_REQUEST.value,
                "body": item.body,
                "request": item.request,
                "inserted_at": now,
                "updated_at": now,
            }
        )
        orders.append(
            {
                "id": work_order_id,
                "project_id": target.project_id,
                "workflow_id": target.workflow_id,
                "trigger_id": target.trigger_id,
                "snapshot_id": target.snapshot_id,
                "dataclip_id": dataclip_id,
                "state": WorkOrderState.PENDING.value,
                "last_activity": now,
                "inserted_at": now,
                "updated_at": now,
            }
        )
        runs.append(
            {
                "id": run_id,
                "work_order_id": work_order_id,
                "snapshot_id": target.snapshot_id,
                "starting_trigger_id": target.trigger_id,
                "dataclip_id": dataclip_id,
                "state": RunState.AVAILABLE.value,
                "priority": 1,
                "inserted_at": now,
            }
        )
    return clips, orders, runs


def write_batch(engine: Engine, items: list[_Pending]) -> None:
    """Insert every item's rows in one transaction (commits or raises)."""
    clips, orders, runs = _rows(items)
    with engine.begin() as conn:
        conn.execute(_DATACLIPS.insert(), clips)
        conn.execute(_WORK_ORDERS.insert(), orders)
        conn.execute(_RUNS.insert(), runs)


class IntakeWriter:
    """The one thread that writes accepted requests, in batches."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="intake-writer", daemon=True)
        self._thread.start()

    async def accept(
        self, target: WebhookTarget, body: Any, request: dict[str, Any]
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Store one request; returns (work_order_id, run_id) once committed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(target, body, request, loop, loop.create_future())
        self._queue.put(pending)
        return await pending.future

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        engine = get_engine()
        try:
            write_batch(engine, batch)
        except Exception:
            if len(batch) > 1:  # find the culprit: retry one by one
                for item in batch:
                    self._write([item])
                return
            log.exception("intake could not store a request")
            _settle(batch[0], error=True)
            return
        for item in batch:
            _settle(item)


def _settle(item: _Pending, *, error: bool = False) -> None:
    def resolve() -> None:
        if item.future.done():
            return
        if error:
            item.future.set_exception(IntakeUnavailable())
        else:
            item.future.set_result((item.ids[1], item.ids[2]))

    item.loop.call_soon_threadsafe(resolve)


class IntakeUnavailable(Exception):
    """The request could not be stored (database down): nothing was acknowledged."""


_writer: IntakeWriter | None = None
_writer_lock = threading.Lock()


def get_writer() -> IntakeWriter:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = IntakeWriter()
        return _writer
