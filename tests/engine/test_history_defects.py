"""Small history defects: cron runs named in Prefect like webhook runs; a resumed run's
"Resuming" line dated when it resumed; equal-time log lines in their order; one error
type, not two."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from prefect.states import AwaitingRetry
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.scrubber import Scrubber
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import ensure_deployment
from lightning_flows.engine.recording import RunRecorder
from lightning_flows.engine.steps import untyped
from lightning_flows.runs.models import Run, WorkOrder
from tests import factories
from tests.engine.test_retry_latest import FIXED, _failing_workflow, _save, _wait_state
from tests.runs.test_queries import save
from tests.support.runs import logs_of, wait_for_run


def test_an_error_message_does_not_repeat_its_type() -> None:
    assert untyped("TypeError", "TypeError: x is undefined") == "x is undefined"
    assert untyped("TypeError", "x is undefined") == "x is undefined"
    assert untyped(None, "TypeError: x") == "TypeError: x"
    assert untyped("JobError", "TypeError: x") == "TypeError: x"


def test_log_lines_with_equal_times_keep_their_order(
    session: Session, project, client, auth
) -> None:
    wf = factories.make_workflow(session, project, jobs=["a"])
    run = factories.make_run(session, wf).run
    recorder = RunRecorder(run.id, project.id, "retain_all", Scrubber())
    at = utcnow()
    # Written in two batches, all with one timestamp: the recorder numbers them.
    recorder.logs([(at, "info", "JOB", m) for m in ("zeta", "alpha", "mu")])
    recorder.logs([(at, "info", "JOB", m) for m in ("beta", "omega")])
    lines = client.get(f"/api/runs/{run.id}/log_lines", headers=auth).json()["items"]
    assert [line["message"] for line in lines] == ["zeta", "alpha", "mu", "beta", "omega"]


@pytest.mark.slow
def test_a_resumed_run_says_so_at_the_time_it_resumed(session: Session, project, worker) -> None:
    wf = _failing_workflow(session, project)
    failed = wait_for_run(session, factories.make_run(session, wf, {"data": {}}).run.id)
    worker.wait_idle()
    # The first attempt long ago: the resume line must not borrow its start time.
    save(session, failed, started_at=failed.started_at - timedelta(hours=1))
    _save(session, project, wf, map=FIXED)
    asked = utcnow()
    prefect_client().set_flow_run_state(failed.prefect_flow_run_id, AwaitingRetry(), force=True)
    _wait_state(session, failed.id, "success")
    worker.wait_idle()
    (resuming,) = [line for line in logs_of(session, failed.id) if "Resuming" in line.message]
    assert resuming.timestamp >= asked


@pytest.mark.slow
def test_cron_runs_are_named_like_webhook_runs(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        name="nightly sync",
        jobs=["a"],
        trigger="cron",
        cron_expression="0 3 * * *",
    )
    deployment_id = ensure_deployment(wf.id)
    # What Prefect's scheduler creates when the schedule fires.
    flow_run = prefect_client().create_flow_run_from_deployment(
        deployment_id, parameters={"workflow_id": str(wf.id), "trigger_id": str(wf.triggers[0].id)}
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.exec(select(Run).where(col(Run.prefect_flow_run_id) == flow_run.id)).first()
        if run is not None and run.is_final:
            break
        session.rollback()
        time.sleep(0.2)
    assert run is not None and run.state == "success"
    work_order = session.get(WorkOrder, run.work_order_id)
    named = prefect_client().read_flow_run(flow_run.id)
    assert named.name == f"nightly sync · {str(work_order.id)[:8]}"
    assert f"work_order:{work_order.id}" in named.tags
