"""Work orders that failed, for the bulk retry tests: written directly, as the engine would."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import rows
from lightning_flows.runs.models import DataclipType, Run, WorkOrder
from lightning_flows.runs.states import RunState
from lightning_flows.workflows import service as workflows
from tests import factories
from tests.runs.test_queries import add_dataclip, add_step, save


def failed_work_orders(
    session: Session, workflow: factories.WorkflowPublic, n: int = 1, *, state: str = "failed"
) -> list[uuid.UUID]:
    """`n` work orders of a two-job workflow whose only run ended `state` at the second
    job (after the first succeeded)."""
    fetch, load = workflow.jobs
    ids = []
    for i in range(n):
        enqueued = factories.make_run(session, workflow, {"data": {"i": i}})
        run = save(session, enqueued.run, state=state, finished_at=utcnow())
        save(session, enqueued.work_order, state=state)
        middle = add_dataclip(session, workflow.project_id, {"data": {"i": i, "fetched": True}})
        add_step(
            session, run, fetch.id, input=enqueued.dataclip, output=middle, exit_reason="success"
        )
        add_step(session, run, load.id, input=middle, exit_reason="fail")
        ids.append(enqueued.work_order.id)
    return ids


def many_failed_work_orders(
    session: Session, workflow: factories.WorkflowPublic, n: int
) -> list[uuid.UUID]:
    """`n` webhook work orders whose one run failed, on one input, written in two inserts."""
    snapshot = workflows.latest_snapshot(session, workflow.id)
    trigger_id = workflow.triggers[0].id
    clip = add_dataclip(session, workflow.project_id, {"data": {"n": 1}})
    clip.type = DataclipType.HTTP_REQUEST
    save(session, clip)
    orders, runs = [], []
    for _ in range(n):
        order = rows.work_order_row(
            project_id=workflow.project_id,
            workflow_id=workflow.id,
            snapshot_id=snapshot.id,
            dataclip_id=clip.id,
            trigger_id=trigger_id,
            run_state=RunState.FAILED,
        )
        run = rows.run_row(
            work_order_id=order["id"],
            snapshot_id=snapshot.id,
            dataclip_id=clip.id,
            trigger_id=trigger_id,
        )
        orders.append(order)
        # as the engine leaves it: the row builder makes only new (available) runs
        runs.append(run | {"state": RunState.FAILED.value, "finished_at": run["inserted_at"]})
    session.execute(insert(WorkOrder), orders)
    session.execute(insert(Run), runs)
    session.commit()
    return [order["id"] for order in orders]


def runs_of(session: Session, work_order_id: uuid.UUID) -> list[Run]:
    """A work order's runs, oldest first (fresh from the database)."""
    session.expire_all()
    return list(
        session.exec(
            select(Run)
            .where(col(Run.work_order_id) == work_order_id)
            .order_by(col(Run.inserted_at))
        ).all()
    )
