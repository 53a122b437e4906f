"""The retention flow, run as Prefect runs it: what is due is deleted or wiped,
Prefect's flow and task runs of deleted runs go too, named dataclips stay."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prefect.exceptions import ObjectNotFound
from sqlalchemy import update
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.maintenance import deployment
from lightning_flows.maintenance.retention import apply_project_retention
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, DataclipType, LogLine, Run, Step, WorkOrder
from tests import factories
from tests.support.runs import steps_of, wait_for_run, wait_for_task_run

pytestmark = pytest.mark.slow


def _age(session: Session, run: Run, days: int) -> None:
    """Move a finished run's work order and dataclips `days` into the past."""
    then = utcnow() - timedelta(days=days)
    steps = steps_of(session, run.id)
    clips = {run.dataclip_id} | {s.input_dataclip_id for s in steps}
    clips |= {s.output_dataclip_id for s in steps}
    clips.discard(None)
    session.execute(
        update(WorkOrder)
        .where(col(WorkOrder.id) == run.work_order_id)
        .values(inserted_at=then, last_activity=then)
    )
    session.execute(update(Dataclip).where(col(Dataclip.id).in_(clips)).values(inserted_at=then))
    session.commit()


def _wait_completed(flow_run_id: uuid.UUID, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = prefect_client().read_flow_run(flow_run_id).state
        if state is not None and state.is_final():
            assert state.is_completed(), state
            return
        time.sleep(0.2)
    raise AssertionError("the maintenance flow run did not finish")


def test_a_maintenance_run_deletes_and_wipes_exactly_what_is_due(
    client: TestClient, session: Session, project, auth, worker
) -> None:
    row = session.get(Project, project.id)
    row.history_retention_days, row.dataclip_retention_days = 30, 7
    session.add(row)
    session.commit()
    wf = factories.make_workflow(
        session, project, jobs={"a": "fn(s => { console.log('hi'); return s; });"}
    )
    old, mid, new = (
        wait_for_run(session, factories.make_run(session, wf, {"n": i}).run.id) for i in range(3)
    )
    worker.wait_idle()
    old_steps = steps_of(session, old.id)
    old_task_run = wait_for_task_run(old_steps[0].prefect_task_run_id)
    old_ids = (old.id, old.work_order_id, old.dataclip_id, old.prefect_flow_run_id)
    _age(session, old, 40)
    _age(session, mid, 10)
    kept = Dataclip(
        project_id=project.id,
        type=DataclipType.SAVED_INPUT.value,
        body={"keep": True},
        name="a named input",
        inserted_at=utcnow() - timedelta(days=400),
    )
    session.add(kept)
    session.commit()

    # As a person would from the Prefect UI: a run of the scheduled retention deployment.
    deployment_id = deployment.ensure_maintenance_deployment()
    dep = prefect_client().read_deployment(deployment_id)
    assert dep.schedules and dep.schedules[0].active and dep.work_pool_name
    flow_run = prefect_client().create_flow_run_from_deployment(deployment_id)
    _wait_completed(flow_run.id)

    session.expunge(old)
    session.expire_all()
    old_run, old_work_order, old_input, old_flow_run = old_ids
    assert session.get(WorkOrder, old_work_order) is None
    assert session.get(Run, old_run) is None
    assert session.exec(select(Step).where(Step.run_id == old_run)).all() == []
    assert session.exec(select(LogLine).where(LogLine.run_id == old_run)).all() == []
    assert session.get(Dataclip, old_input) is None
    with pytest.raises(ObjectNotFound):
        prefect_client().read_flow_run(old_flow_run)
    with pytest.raises(ObjectNotFound):
        prefect_client().read_task_run(old_task_run.id)

    mid_input = session.get(Dataclip, mid.dataclip_id)
    assert session.get(Run, mid.id) is not None, "history kept for 30 days"
    assert mid_input.body is None and mid_input.wiped_at is not None, "bodies wiped after 7"
    assert prefect_client().read_flow_run(mid.prefect_flow_run_id) is not None

    new_input = session.get(Dataclip, new.dataclip_id)
    assert new_input.body is not None and new_input.wiped_at is None
    still = session.get(Dataclip, kept.id)
    assert still is not None and still.body == {"keep": True}, "named dataclips survive"

    # Nothing more is due: a second pass does nothing.
    again = apply_project_retention(project.id, delete_flow_runs=lambda ids: len(ids or []))
    assert (again.work_orders, again.dataclips_deleted, again.dataclips_wiped) == (0, 0, 0)

    mid_step = steps_of(session, mid.id)[0]
    retry = client.post(
        f"/api/runs/{mid.id}/retry", json={"step_id": str(mid_step.id)}, headers=auth
    )
    assert retry.status_code == 422
    assert "wiped by the project's data retention policy" in retry.json()["detail"]
