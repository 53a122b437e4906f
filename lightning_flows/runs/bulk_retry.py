"""Bulk retries: accepting a batch of work orders to run again, and its progress.

The rule that keeps re-submissions from doubling runs:

1. A batch submitted again with the same `request_id` (or `Idempotency-Key`) in the
   same project is the same batch: its id is answered, nothing new is queued.
2. A work order that is still waiting in another unfinished batch of the project is
   skipped (`already_in_batch`).
3. When its turn comes, a work order whose latest run has not finished (queued or
   running) is skipped (`in_progress`): a retry starts only once the last run ended.

Queuing itself happens in chunks (`runs/bulk_queue.py`), after the batch is accepted.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import queries
from lightning_flows.runs.batch_models import BatchState, ItemStatus, RetryBatch, RetryBatchItem
from lightning_flows.runs.bulk_schemas import BulkFilter, BulkRetryRequest, RetryBatchProgress
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.schemas import WorkOrderFilters
from lightning_flows.runs.states import FINAL_RUN_STATES, RunState
from lightning_flows.workflows.models import Job, Workflow

ALREADY_IN_BATCH = "already_in_batch"


def to_filters(selection: BulkFilter) -> WorkOrderFilters:
    """The history list's filters from their JSON form."""
    return WorkOrderFilters(
        states=list(dict.fromkeys(selection.status)),
        workflow_id=selection.workflow_id,
        since=selection.since,
        until=selection.until,
        last_activity_since=selection.last_activity_since,
        last_activity_until=selection.last_activity_until,
        search=(selection.search or "").strip() or None,
    )


def submit(
    session: Session,
    project_id: uuid.UUID,
    request: BulkRetryRequest,
    *,
    user_id: uuid.UUID | None,
    client_key: str | None = None,
) -> RetryBatch:
    """Record a batch and its work orders (all `pending`), or return the batch already
    recorded under the same client key. Queuing is left to `bulk_queue.process`."""
    key = request.request_id or client_key
    if key is not None:
        existing = _by_key(session, project_id, key)
        if existing is not None:
            return existing
    if (request.work_order_ids is None) == (request.filter is None):
        raise InvalidInput('Give either "work_order_ids" or "filter" (not both).')
    start_job_id = _start_job(session, project_id, request.from_)
    batch = RetryBatch(
        project_id=project_id,
        created_by_id=user_id,
        client_key=key,
        start_job_id=start_job_id,
        selection=request.model_dump(mode="json", by_alias=True, exclude={"work_order_ids"})
        | {"work_order_count": len(request.work_order_ids or [])},
    )
    session.add(batch)
    try:
        session.flush()
    except IntegrityError:  # the same key submitted concurrently: that batch wins
        session.rollback()
        found = _by_key(session, project_id, key or "")
        if found is None:
            raise
        return found
    _add_items(session, project_id, batch.id, request)
    batch.total = _count(session, batch.id)
    batch.skipped = _skip_already_waiting(session, batch)
    if batch.skipped:
        batch.skipped_reasons = {ALREADY_IN_BATCH: batch.skipped}
    if batch.skipped == batch.total:
        batch.state, batch.queued_at = BatchState.QUEUED.value, utcnow()
    session.add(batch)
    session.commit()
    return batch


def _by_key(session: Session, project_id: uuid.UUID, key: str) -> RetryBatch | None:
    return session.exec(
        select(RetryBatch).where(
            col(RetryBatch.project_id) == project_id, col(RetryBatch.client_key) == key
        )
    ).first()


def _start_job(session: Session, project_id: uuid.UUID, start: str) -> uuid.UUID | None:
    if start == "start":
        return None
    try:
        job_id = uuid.UUID(start)
    except ValueError:
        raise InvalidInput('"from" is "start" or the id of a job of this project.') from None
    found = session.exec(
        select(Job.id)
        .join(Workflow, col(Workflow.id) == col(Job.workflow_id))
        .where(col(Job.id) == job_id, col(Workflow.project_id) == project_id)
    ).first()
    if found is None:
        raise InvalidInput(f'"from": job {job_id} is not a job of this project\'s workflows.')
    return job_id


def _add_items(
    session: Session, project_id: uuid.UUID, batch_id: uuid.UUID, request: BulkRetryRequest
) -> None:
    """One `pending` item per selected work order (of the project only): one INSERT ...
    SELECT for a filter, one multi-row INSERT for ids."""
    if request.filter is not None:
        dialect = session.get_bind().dialect.name
        statement = queries.work_orders_statement(
            project_id, to_filters(request.filter), dialect=dialect
        )
        chosen = statement.order_by(None).with_only_columns(col(WorkOrder.id)).subquery()
        session.execute(
            sa.insert(RetryBatchItem).from_select(
                ["batch_id", "work_order_id", "status"],
                select(
                    sa.literal(batch_id, sa.Uuid()),
                    chosen.c.id,
                    sa.literal(ItemStatus.PENDING.value),
                ),
            )
        )
        return
    ids = _known_ids(session, project_id, request.work_order_ids or [])
    session.execute(
        sa.insert(RetryBatchItem),
        [
            {"batch_id": batch_id, "work_order_id": i, "status": ItemStatus.PENDING.value}
            for i in ids
        ],
    )


def _known_ids(
    session: Session, project_id: uuid.UUID, requested: list[uuid.UUID]
) -> list[uuid.UUID]:
    """The requested ids, once each; InvalidInput names those not in the project."""
    ids = list(dict.fromkeys(requested))
    if not ids:
        raise InvalidInput('"work_order_ids" is empty: name at least one work order.')
    known: set[uuid.UUID] = set()
    for start in range(0, len(ids), 5000):
        known.update(
            session.exec(
                select(WorkOrder.id).where(
                    col(WorkOrder.project_id) == project_id,
                    col(WorkOrder.id).in_(ids[start : start + 5000]),
                )
            ).all()
        )
    unknown = [str(i) for i in ids if i not in known]
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidInput(
            f"Work orders not found in this project: {', '.join(unknown[:5])}{more}."
        )
    return ids


def _count(session: Session, batch_id: uuid.UUID) -> int:
    return int(
        session.exec(select(sa.func.count()).where(col(RetryBatchItem.batch_id) == batch_id)).one()
    )


def _skip_already_waiting(session: Session, batch: RetryBatch) -> int:
    """Skip the work orders still pending in another unfinished batch of the project."""
    other = sa.orm.aliased(RetryBatchItem)
    waiting = (
        select(other.work_order_id)
        .join(RetryBatch, col(RetryBatch.id) == other.batch_id)
        .where(
            col(RetryBatch.project_id) == batch.project_id,
            col(RetryBatch.state) == BatchState.QUEUING.value,
            col(RetryBatch.id) != batch.id,
            other.status == ItemStatus.PENDING.value,
        )
    )
    result = session.execute(
        sa.update(RetryBatchItem)
        .where(
            col(RetryBatchItem.batch_id) == batch.id,
            col(RetryBatchItem.work_order_id).in_(waiting),
        )
        .values(status=ItemStatus.SKIPPED.value, reason=ALREADY_IN_BATCH)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def get_batch(session: Session, project_id: uuid.UUID, batch_id: uuid.UUID) -> RetryBatch:
    batch = session.get(RetryBatch, batch_id)
    if batch is None or batch.project_id != project_id:
        raise NotFound("Retry batch not found.")
    return batch


def progress(session: Session, batch: RetryBatch) -> RetryBatchProgress:
    """Where a batch stands: queued and skipped work orders, and how its runs ended."""
    by_state = dict(
        session.exec(
            select(Run.state, sa.func.count())
            .join(RetryBatchItem, col(RetryBatchItem.run_id) == col(Run.id))
            .where(col(RetryBatchItem.batch_id) == batch.id)
            .group_by(col(Run.state))
        ).all()
    )
    done = sum(n for state, n in by_state.items() if state in FINAL_RUN_STATES)
    succeeded = by_state.get(RunState.SUCCESS.value, 0)
    if batch.state == BatchState.QUEUING.value:
        state = "queuing"
    else:
        state = "finished" if done >= batch.queued else "running"
    return RetryBatchProgress(
        id=batch.id,
        project_id=batch.project_id,
        state=state,
        total=batch.total,
        queued=batch.queued,
        skipped=batch.skipped,
        pending=max(batch.total - batch.queued - batch.skipped, 0),
        done=done,
        succeeded=succeeded,
        failed=done - succeeded,
        skipped_reasons=dict(batch.skipped_reasons or {}),
        start_job_id=batch.start_job_id,
        inserted_at=batch.inserted_at,
        queued_at=batch.queued_at,
    )
