"""Queuing a bulk retry survives its process stopping: the batch resumes at its first
pending work order once its lease has run out, and nothing is queued twice."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import bulk_queue, bulk_retry
from lightning_flows.runs.batch_models import RetryBatch, RetryBatchItem
from lightning_flows.runs.bulk_schemas import BulkRetryRequest
from lightning_flows.runs.models import Run
from tests import factories
from tests.support.work_orders import failed_work_orders as _failed


def test_a_batch_whose_process_stopped_is_resumed_where_it_stopped(
    session: Session, project, user
) -> None:
    workflow = factories.make_workflow(session, project, jobs=["fetch", "load"])
    ids = _failed(session, workflow, 5)
    batch = bulk_retry.submit(
        session, project.id, BulkRetryRequest(work_order_ids=ids), user_id=user.id
    )
    # A process took the lease, queued one chunk of 2, then died.
    with session_scope() as s:
        assert bulk_queue._take_lease(s, batch.id, "dead-process")
        assert bulk_queue.queue_chunk(s, batch.id, size=2)
    assert bulk_queue.resume_unfinished() == 0  # its lease still runs: left alone
    assert not bulk_queue.process(batch.id, owner="someone-else")
    with session_scope() as s:
        row = s.get(RetryBatch, batch.id)
        row.lease_until = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    assert bulk_queue.resume_unfinished() == 1
    session.expire_all()
    done = session.get(RetryBatch, batch.id)
    assert (done.state, done.queued, done.skipped, done.lease_owner) == ("queued", 5, 0, None)
    runs = session.exec(select(Run).where(col(Run.work_order_id).in_(ids))).all()
    assert len(runs) == 10  # one failed and one new run each, never two new
    items = session.exec(select(RetryBatchItem).where(RetryBatchItem.batch_id == batch.id)).all()
    assert {item.status for item in items} == {"queued"} and all(item.run_id for item in items)
