"""Fix a step, then reprocess every failed work order at once through a real worker:
the retried runs succeed on the fixed version; Prefect shows our times and one error."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Run
from lightning_flows.workflows.models import WorkflowSnapshot
from tests import factories
from tests.engine.test_retry_latest import BROKEN, FIXED, _failing_workflow, _save
from tests.support.runs import steps_of, wait_for_run, wait_for_task_run

pytestmark = pytest.mark.slow


def _progress(client: TestClient, auth: dict, project, batch_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/api/projects/{project.id}/retry_batches/{batch_id}", headers=auth)
        assert answer.status_code == 200, answer.text
        progress = answer.json()
        if progress["state"] == "finished" or time.monotonic() > deadline:
            return progress
        time.sleep(0.2)


def test_bulk_retry_from_the_fixed_step_succeeds_on_the_latest_version(
    client: TestClient, session: Session, project, auth, worker
) -> None:
    wf = _failing_workflow(session, project)
    failed = [
        wait_for_run(session, factories.make_run(session, wf, {"data": {"n": n}}).run.id)
        for n in range(3)
    ]
    assert {(r.state, r.error_type) for r in failed} == {("failed", "TypeError")}
    broken_step = steps_of(session, failed[0].id)[1]
    # Recorded once: "TypeError" is the type, the message does not repeat it.
    assert broken_step.error_message.startswith("Cannot read properties")
    # Prefect's task and flow runs carry our recorded times.
    task_run = wait_for_task_run(broken_step.prefect_task_run_id)
    assert task_run.start_time == broken_step.started_at
    assert task_run.end_time == broken_step.finished_at
    flow_run = prefect_client().read_flow_run(failed[0].prefect_flow_run_id)
    assert flow_run.end_time == failed[0].finished_at
    assert "TypeError: TypeError" not in (flow_run.state.message or "")

    fixed = _save(session, project, wf, map=FIXED)
    map_job = next(j for j in fixed.jobs if j.name == "map")
    answer = client.post(
        f"/api/projects/{project.id}/work_orders/retry",
        json={"filter": {"status": ["failed"], "workflow_id": str(wf.id)}, "from": str(map_job.id)},
        headers=auth,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["total"] == 3
    progress = _progress(client, auth, project, answer.json()["id"])
    assert (progress["queued"], progress["done"], progress["succeeded"]) == (3, 3, 3), progress
    session.expire_all()
    for original in failed:
        runs = session.exec(
            select(Run)
            .where(col(Run.work_order_id) == original.work_order_id)
            .order_by(col(Run.inserted_at))
        ).all()
        assert [r.state for r in runs] == ["failed", "success"]
        assert session.get(WorkflowSnapshot, runs[1].snapshot_id).lock_version == fixed.lock_version
    listed = client.get(f"/api/projects/{project.id}/work_orders", headers=auth).json()["items"]
    assert {tuple(r["started_by"] for r in item["runs"]) for item in listed} == {
        ("bulk", "webhook")
    }
    assert BROKEN != FIXED and uuid.UUID(answer.json()["id"])
