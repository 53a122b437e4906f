"""Fix, then retry: every retry runs the workflow's latest version unless asked otherwise
(the run page and API retry, and Prefect's own Retry of a failed flow run)."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from prefect.states import AwaitingRetry
from sqlmodel import Session

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Run
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import WorkflowSnapshot
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow
BROKEN = "fn(s => { s.data.patient.name.toUpperCase(); return s; });"
FIXED = "fn(s => ({ ...s, data: { ...s.data, fixed: true } }));"


def _failing_workflow(session: Session, project):
    return factories.make_workflow(session, project, jobs={"prepare": FIXED, "map": BROKEN})


def _save(session: Session, project, wf, **bodies: str | None):
    """Save a new version: job bodies by name (None removes the job and its edges)."""
    current = workflows.to_public(session, workflows.get_workflow(session, project.id, wf.id))
    doc = current.model_dump()
    removed = {str(j["id"]) for j in doc["jobs"] if bodies.get(j["name"], "") is None}
    doc["jobs"] = [
        {**j, "body": bodies.get(j["name"]) or j["body"]}
        for j in doc["jobs"]
        if str(j["id"]) not in removed
    ]
    doc["edges"] = [e for e in doc["edges"] if str(e["target_job_id"]) not in removed]
    return workflows.update_workflow(
        session, project.id, wf.id, WorkflowDocument.model_validate(doc), None
    )


def _wait_state(session: Session, run_id: uuid.UUID, state: str, timeout: float = 60) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(Run, run_id)
        if run is not None and run.state == state:
            return run
        session.rollback()
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} stayed {run.state if run else None}")


def _version(session: Session, run: Run) -> int:
    return session.get(WorkflowSnapshot, run.snapshot_id).lock_version


def test_retry_from_a_step_runs_the_fixed_code_unless_original_is_asked(
    client: TestClient, session: Session, project, auth, worker
) -> None:
    wf = _failing_workflow(session, project)
    failed = wait_for_run(session, factories.make_run(session, wf, {"data": {}}).run.id)
    assert (failed.state, failed.error_type) == ("failed", "TypeError")
    step = steps_of(session, failed.id)[1]
    fixed = _save(session, project, wf, map=FIXED)

    retried = client.post(
        f"/api/runs/{failed.id}/retry", json={"step_id": str(step.id)}, headers=auth
    )
    assert retried.status_code == 201, retried.text
    run = wait_for_run(session, uuid.UUID(retried.json()["run_id"]))
    assert run.state == "success", "the retry ran the fixed step"
    assert _version(session, run) == fixed.lock_version
    shown = client.get(f"/api/runs/{run.id}", headers=auth).json()
    assert (shown["version"], shown["latest_version"]) == (fixed.lock_version,) * 2
    before = client.get(f"/api/runs/{failed.id}", headers=auth).json()
    assert before["version"] < before["latest_version"] == fixed.lock_version

    replay = client.post(
        f"/api/runs/{failed.id}/retry",
        json={"step_id": str(step.id), "version": "original"},
        headers=auth,
    )
    assert replay.status_code == 201, replay.text
    again = wait_for_run(session, uuid.UUID(replay.json()["run_id"]))
    assert (again.state, _version(session, again)) == ("failed", _version(session, failed))

    wrong = client.post(
        f"/api/runs/{failed.id}/retry",
        json={"step_id": str(step.id), "version": "v1"},
        headers=auth,
    )
    assert wrong.status_code == 422 and "version" in wrong.text


def test_prefect_retry_resumes_the_failed_step_with_the_latest_code(
    session: Session, project, worker
) -> None:
    wf = _failing_workflow(session, project)
    failed = wait_for_run(session, factories.make_run(session, wf, {"data": {}}).run.id)
    assert failed.state == "failed"
    worker.wait_idle()
    fixed = _save(session, project, wf, map=FIXED)

    prefect_client().set_flow_run_state(failed.prefect_flow_run_id, AwaitingRetry(), force=True)
    run = _wait_state(session, failed.id, "success")
    worker.wait_idle()

    assert _version(session, run) == fixed.lock_version
    steps = steps_of(session, run.id)
    assert [s.exit_reason for s in steps] == ["success", "fail", "success"]
    assert steps[0].job_id == steps[1].job_id or steps[1].job_id == steps[2].job_id


def test_prefect_retry_of_a_step_that_was_removed_says_how_to_go_on(
    session: Session, project, worker
) -> None:
    wf = _failing_workflow(session, project)
    failed = wait_for_run(session, factories.make_run(session, wf, {"data": {}}).run.id)
    worker.wait_idle()
    _save(session, project, wf, map=None)

    flow_run_id = failed.prefect_flow_run_id
    prefect_client().set_flow_run_state(flow_run_id, AwaitingRetry(), force=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(Run, failed.id)
        if run.error_type == "StepRemoved" and run.is_final:
            break
        session.rollback()
        time.sleep(0.1)
    assert (run.state, run.error_type) == ("failed", "StepRemoved")
    worker.wait_idle()
    message = prefect_client().read_flow_run(flow_run_id).state.message
    assert "'map'" in message and "not in the latest version" in message
    assert "retry the run from its first step" in message.lower()
