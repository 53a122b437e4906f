"""Queuing a bulk retry's work orders in chunks, resumably.

One chunk is one short transaction: it reads up to `CHUNK` pending items, decides each
(a new run, or skipped with a reason), inserts the runs with one statement
(`runs.service.add_runs`, rows from `runs/rows.py`), marks the items and adds to the
batch's counters. Intake never waits behind more than one chunk.

A process queues a batch while it holds its lease (renewed every chunk). A batch whose
lease ran out (its process stopped) is taken up by the next `resume_unfinished`, at the
first item still pending: nothing is queued twice, nothing is lost.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.batch_models import BatchState, ItemStatus, RetryBatch, RetryBatchItem
from lightning_flows.runs.bulk_plan import Planner
from lightning_flows.runs.service import add_runs

log = logging.getLogger(__name__)
CHUNK = 500
LEASE = timedelta(seconds=60)
_resuming = threading.Lock()


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def process(batch_id: uuid.UUID, owner: str | None = None, chunk: int = CHUNK) -> bool:
    """Queue the batch's pending work orders, chunk by chunk, while holding its lease;
    False if another process holds it (it is queuing the batch)."""
    owner = owner or owner_name()
    while True:
        with session_scope() as session:
            if not _take_lease(session, batch_id, owner):
                return False
            if not queue_chunk(session, batch_id, chunk):
                return True


def resume_unfinished(owner: str | None = None) -> int:
    """Take up every batch left `queuing` with no live lease (its process stopped)."""
    if not _resuming.acquire(blocking=False):
        return 0
    try:
        with session_scope() as session:
            now = utcnow()
            ids = session.exec(
                select(RetryBatch.id).where(
                    col(RetryBatch.state) == BatchState.QUEUING.value,
                    sa.or_(
                        col(RetryBatch.lease_until).is_(None), col(RetryBatch.lease_until) < now
                    ),
                )
            ).all()
        return sum(1 for batch_id in ids if process(batch_id, owner))
    finally:
        _resuming.release()


def resume_in_background() -> None:
    """`resume_unfinished` on a daemon thread (the worker's loop must not wait for it)."""
    if _resuming.locked():
        return
    threading.Thread(target=_resume_logged, name="bulk-retry-resume", daemon=True).start()


def _resume_logged() -> None:
    try:
        resume_unfinished()
    except Exception:
        log.warning("could not resume bulk retries", exc_info=True)


def _take_lease(session: Session, batch_id: uuid.UUID, owner: str) -> bool:
    now = utcnow()
    taken = session.execute(
        sa.update(RetryBatch)
        .where(
            col(RetryBatch.id) == batch_id,
            col(RetryBatch.state) == BatchState.QUEUING.value,
            sa.or_(
                col(RetryBatch.lease_owner) == owner,
                col(RetryBatch.lease_until).is_(None),
                col(RetryBatch.lease_until) < now,
            ),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
    )
    session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def queue_chunk(session: Session, batch_id: uuid.UUID, size: int = CHUNK) -> bool:
    """Queue (or skip) up to `size` pending items in one transaction; False when none
    was left (the batch is then marked `queued`)."""
    batch = session.get(RetryBatch, batch_id)
    if batch is None or batch.state != BatchState.QUEUING.value:
        return False
    ids = session.exec(
        select(RetryBatchItem.work_order_id)
        .where(
            col(RetryBatchItem.batch_id) == batch_id,
            col(RetryBatchItem.status) == ItemStatus.PENDING.value,
        )
        .order_by(col(RetryBatchItem.work_order_id))
        .limit(size)
    ).all()
    if not ids:
        batch.state, batch.queued_at = BatchState.QUEUED.value, utcnow()
        batch.lease_owner = batch.lease_until = None
        batch.updated_at = utcnow()
        session.add(batch)
        session.commit()
        return False
    planner = Planner(session, batch, list(ids))
    run_rows, skipped = planner.plan()
    add_runs(session, run_rows)
    _mark(session, batch_id, run_rows, skipped)
    reasons = dict(batch.skipped_reasons or {})
    for reason in skipped.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    batch.queued += len(run_rows)
    batch.skipped += len(skipped)
    batch.skipped_reasons = reasons
    batch.updated_at = utcnow()
    session.add(batch)
    session.commit()
    return True


def _mark(
    session: Session,
    batch_id: uuid.UUID,
    run_rows: list[dict[str, Any]],
    skipped: dict[uuid.UUID, str],
) -> None:
    item = RetryBatchItem.__table__  # type: ignore[attr-defined]
    where = sa.and_(item.c.batch_id == batch_id, item.c.work_order_id == sa.bindparam("wo"))
    if run_rows:
        session.connection().execute(
            sa.update(item)
            .where(where)
            .values(status=ItemStatus.QUEUED.value, run_id=sa.bindparam("run")),
            [{"wo": r["work_order_id"], "run": r["id"]} for r in run_rows],
        )
    if skipped:
        session.connection().execute(
            sa.update(item)
            .where(where)
            .values(status=ItemStatus.SKIPPED.value, reason=sa.bindparam("why")),
            [{"wo": wo, "why": why} for wo, why in skipped.items()],
        )
