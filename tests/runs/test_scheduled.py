"""Runs started in Prefect (a schedule, the UI's Run): one run per flow run, even when
Prefect retries the flow run."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from lightning_flows.engine.prefect.flow import new_run_for
from lightning_flows.runs.models import Run, WorkOrder
from tests import factories


def test_a_prefect_started_flow_run_creates_its_run_once(
    session: Session, project: factories.Project
) -> None:
    wf = factories.make_workflow(session, project, jobs={"only": "fn(s => s);"})
    flow_run_id = uuid.uuid4()
    holder = f"prefect:{flow_run_id}"
    first = new_run_for(flow_run_id, wf.id, None, holder)
    retried = new_run_for(flow_run_id, wf.id, None, holder)  # Prefect's retry, same flow run
    assert retried == first
    session.expire_all()
    runs = session.exec(
        select(Run).join(WorkOrder).where(WorkOrder.workflow_id == wf.id)  # type: ignore[arg-type]
    ).all()
    assert [r.id for r in runs] == [first]
    assert runs[0].prefect_flow_run_id == flow_run_id and runs[0].state == "claimed"
    other = new_run_for(uuid.uuid4(), wf.id, None, holder)  # another Run click: a new run
    assert other != first
