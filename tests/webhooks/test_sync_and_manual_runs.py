"""Runs that answer the caller, runs started by people, limits and schedules (real worker)."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from prefect.states import Scheduled
from sqlmodel import Session, select

from lightning_flows.core.config import get_settings
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import sync_deployment
from lightning_flows.runs.models import Dataclip, Run, Step
from lightning_flows.webhooks.lookup import clear_cache
from tests import factories
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    clear_cache()
    yield


def test_sync_reply_returns_the_final_state(client: TestClient, session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={"echo": "fn(s => ({ ...s, data: { got: s.data.n } }));"},
        webhook_reply="after_completion",
    )
    response = client.post(f"/i/{wf.triggers[0].id}", json={"n": 7})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["data"]["data"] == {"got": 7}
    assert body["meta"]["state"] == "success"
    assert response.headers["x-meta-run-id"] == body["meta"]["run_id"]


def test_job_chooses_the_webhook_response(client: TestClient, session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "reply": "fn(s => ({ ...s, "
            "webhookResponse: { status: 202, body: { queued: true } } }));"
        },
        webhook_reply="after_completion",
    )
    response = client.post(f"/i/{wf.triggers[0].id}", json={})
    assert (response.status_code, response.json()) == (202, {"queued": True})


def test_sync_reply_times_out_with_504_and_the_ids(
    client: TestClient, session, project, worker, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "webhook_reply_timeout_seconds", 0.5)
    wf = factories.make_workflow(
        session,
        project,
        jobs={"slow": "fn(async s => { await new Promise(r => setTimeout(r, 2500)); return s; });"},
        webhook_reply="after_completion",
    )
    response = client.post(f"/i/{wf.triggers[0].id}", json={})
    assert response.status_code == 504
    run = wait_for_run(session, uuid.UUID(response.json()["run_id"]))
    assert run.state == "success", "the run goes on after the caller stopped waiting"


def test_manual_run_with_body_dataclip_and_retry_from_step(
    client: TestClient, session: Session, project, auth, worker
) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "a": "fn(s => ({ ...s, data: { n: s.data.n + 1 } }));",
            "b": "fn(s => { if (s.data.n < 10) throw new Error('too small'); return s; });",
        },
    )
    started = client.post(
        f"/api/workflows/{wf.id}/runs", json={"body": {"data": {"n": 1}}}, headers=auth
    )
    assert started.status_code == 201, started.text
    run = wait_for_run(session, uuid.UUID(started.json()["run_id"]))
    assert (run.state, run.priority) == ("failed", 0)
    first_steps = steps_of(session, run.id)

    again = client.post(
        f"/api/workflows/{wf.id}/runs", json={"dataclip_id": str(run.dataclip_id)}, headers=auth
    )
    assert again.status_code == 201
    assert wait_for_run(session, uuid.UUID(again.json()["run_id"])).state == "failed"

    retried = client.post(
        f"/api/runs/{run.id}/retry", json={"step_id": str(first_steps[1].id)}, headers=auth
    )
    assert retried.status_code == 201, retried.text
    assert retried.json()["work_order_id"] == str(run.work_order_id)
    retry_run = wait_for_run(session, uuid.UUID(retried.json()["run_id"]))
    retry_steps = steps_of(session, retry_run.id)
    assert [s.job_id for s in retry_steps] == [first_steps[1].job_id], "starts at the chosen step"
    assert retry_steps[0].input_dataclip_id == first_steps[1].input_dataclip_id

    bad = client.post(f"/api/workflows/{wf.id}/runs", json={}, headers=auth)
    assert bad.status_code == 422 and "either a 'body' or a 'dataclip_id'" in bad.json()["detail"]


def test_concurrency_limit_one_serialises_runs(session: Session, project, worker) -> None:
    from lightning_flows.workflows import service as workflows
    from lightning_flows.workflows.schemas import WorkflowDocument

    doc = factories.workflow_doc(
        jobs={"wait": "fn(async s => { await new Promise(r => setTimeout(r, 700)); return s; });"}
    )
    wf = workflows.create_workflow(
        session,
        project.id,
        WorkflowDocument.model_validate({**doc.model_dump(), "concurrency": 1}),
        None,
    )
    run_ids = [factories.make_run(session, wf, {}).run.id for _ in range(3)]
    runs = [wait_for_run(session, run_id) for run_id in run_ids]
    assert [r.state for r in runs] == ["success"] * 3
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    assert all(
        prev_end <= next_start for (_, prev_end), (next_start, _) in itertools.pairwise(spans)
    )
    assert [r.id for r in sorted(runs, key=lambda r: r.started_at)] == run_ids, "in order"


def test_cron_trigger_schedule_and_cursor(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={"count": "fn(s => ({ ...s, data: { n: (s.data && s.data.n || 0) + 1 } }));"},
        trigger="cron",
        cron_expression="*/5 * * * *",
        cron_timezone="Africa/Nairobi",
    )
    deployment_id = sync_deployment(wf.id)
    deployment = prefect_client().read_deployment(deployment_id)
    assert [s.schedule.cron for s in deployment.schedules] == ["*/5 * * * *"]
    assert deployment.schedules[0].schedule.timezone == "Africa/Nairobi"

    def tick() -> Run:
        before = {r.id for r in session.exec(select(Run)).all()}
        prefect_client().create_flow_run_from_deployment(
            deployment_id, parameters={"trigger_id": str(wf.triggers[0].id)}, state=Scheduled()
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session.expire_all()
            new = [r for r in session.exec(select(Run)).all() if r.id not in before]
            if new and new[0].state == "success":
                return new[0]
            time.sleep(0.2)
        raise AssertionError("the due schedule produced no successful run")

    first, second = tick(), tick()
    step = session.exec(select(Step).where(Step.run_id == second.id)).one()
    assert session.get(Dataclip, step.input_dataclip_id).body["data"] == {"n": 1}
    assert session.get(Dataclip, second.final_dataclip_id).body["data"] == {"n": 2}
    assert first.final_dataclip_id == second.dataclip_id, "the cursor is the last final state"
