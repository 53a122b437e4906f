"""Intake of webhook requests: the durability promise. A request is acknowledged only after the
transaction holding its dataclip, work order and run (`available`) commits;
after that, the run will happen.

Requests arriving together are written by a writer thread in one transaction
(group commit): the commit cost is shared, so intake keeps up with bursts. A
failed batch is retried request by request, so one bad request never fails the
others.

Small bodies cost the database little but a commit each batch: one writer
makes the biggest batches (concurrent commits queue on the WAL and stretch the
tail latency). Large bodies cost it CPU (JSON parsing, compression, the
dataclip search index: about 3 ms per 50 KB on PostgreSQL), so two writers
keep two database cores busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from lightning_flows.core.db import get_engine
from lightning_flows.runs import intake_batch as batch

log = logging.getLogger(__name__)
MAX_BATCH = 256
LARGE_BODY_BYTES = 16_384
LARGE_BODY_WRITERS = 2


@dataclass(slots=True)
class _Pending:
    row: batch.Row
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[uuid.UUID, uuid.UUID]]


class IntakeWriter:
    """The threads that write accepted requests, in batches."""

    def __init__(self) -> None:
        self._small: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._large: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        queues = [("small", self._small)] + [("large", self._large)] * LARGE_BODY_WRITERS
        for i, (kind, source) in enumerate(queues):
            name = f"intake-writer-{kind}-{i}"
            threading.Thread(target=self._loop, args=(source,), name=name, daemon=True).start()

    async def accept(
        self, target: batch.Target, body: batch.StoredBody, request: dict[str, Any]
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """Store one request; returns (work_order_id, run_id) once committed."""
        loop = asyncio.get_running_loop()
        pending = _Pending(batch.Row(target, body, request), loop, loop.create_future())
        (self._large if body.size >= LARGE_BODY_BYTES else self._small).put(pending)
        return await pending.future

    def _loop(self, source: queue.SimpleQueue[_Pending]) -> None:
        writer = batch.BatchWriter()
        while True:
            items = [source.get()]
            while len(items) < MAX_BATCH:
                try:
                    items.append(source.get_nowait())
                except queue.Empty:
                    break
            batch.assign_ids([item.row for item in items])
            self._write(writer, items)

    def _write(self, writer: batch.BatchWriter, items: list[_Pending]) -> None:
        try:
            writer.write(get_engine(), [item.row for item in items])
        except Exception as exc:
            if len(items) > 1:  # find the culprit: retry one by one
                for item in items:
                    self._write(writer, [item])
                return
            refused = _refused_value(exc)
            if refused is None:
                log.exception("intake could not store a request")
            else:
                log.warning("intake refused a request the database cannot hold: %s", refused)
            _settle(items, error=IntakeRefused(refused) if refused else IntakeUnavailable())
            return
        _settle(items)


def _refused_value(exc: Exception) -> str | None:
    """What was wrong with the request when the database refused its value (a data or
    integrity error), not the database itself (connection lost, server down): None."""
    import psycopg
    from sqlalchemy.exc import DataError, IntegrityError

    refused = (DataError, IntegrityError, psycopg.DataError, psycopg.IntegrityError)
    if not isinstance(exc, refused):
        return None
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).splitlines() or [type(cause).__name__])[0][:300]


def _settle(items: list[_Pending], *, error: Exception | None = None) -> None:
    """Answer the waiting requests: one wake-up per event loop, not per request."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for item in items:
        by_loop.setdefault(item.loop, []).append(item)
    for loop, waiting in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve, waiting, error)


def _resolve(items: list[_Pending], error: Exception | None) -> None:
    for item in items:
        if item.future.done():
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result((item.row.work_order_id, item.row.run_id))


class IntakeUnavailable(Exception):
    """The request could not be stored (database down): nothing was acknowledged."""


class IntakeRefused(Exception):
    """The database refused a value of this request (nothing was stored): the client's
    request, not the database, must change."""


_writer: IntakeWriter | None = None
_writer_lock = threading.Lock()


def get_writer() -> IntakeWriter:
    global _writer
    with _writer_lock:
        if _writer is None:
            _writer = IntakeWriter()
        return _writer
