"""Work orders that failed, for the bulk retry tests: written directly, as the engine would."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Run
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
