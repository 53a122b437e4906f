"""Workflows run as Prefect flows whose task runs execute real OpenFn adaptor steps."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Dataclip, WorkOrder
from tests import factories
from tests.support.runs import logs_of, steps_of, wait_for_run, wait_for_task_run

pytestmark = pytest.mark.slow


def test_three_step_workflow_runs_with_prefect_tracking(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "double": "fn(state => ({ ...state, data: { n: state.data.n * 2 } }));",
            "log": "fn(state => { console.log('n is', state.data.n); return state; });",
            "add": "fn(state => ({ ...state, data: { n: state.data.n + 1 } }));",
        },
    )
    enqueued = factories.make_run(session, wf, {"n": 20})
    run = wait_for_run(session, enqueued.run.id)
    assert run.state == "success", run.error_type
    steps = steps_of(session, run.id)
    assert [s.exit_reason for s in steps] == ["success"] * 3
    assert session.get(Dataclip, steps[-1].output_dataclip_id).body["data"] == {"n": 41}
    assert steps[1].input_dataclip_id == steps[0].output_dataclip_id
    assert any(
        line.source == "JOB" and "n is 40" in line.message for line in logs_of(session, run.id)
    )
    assert session.get(WorkOrder, run.work_order_id).state == "success"

    worker.wait_idle()
    client = prefect_client()
    flow_run = client.read_flow_run(run.prefect_flow_run_id)
    assert flow_run.state.is_completed()
    assert f"work_order:{run.work_order_id}" in flow_run.tags
    task_runs = [wait_for_task_run(step.prefect_task_run_id) for step in steps]
    assert [t.name for t in task_runs] == ["double", "log", "add"]
    assert all(t.state.is_completed() and t.flow_run_id == flow_run.id for t in task_runs)
    assert task_runs[0].end_time <= task_runs[1].start_time, "steps ran one after the other"


def test_failure_branch_runs_and_leaf_decides(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "fetch": "fn(state => { throw new Error('upstream down'); });",
            "on ok": "fn(state => state);",
            "on error": "fn(state => ({ ...state, handled: true }));",
        },
        edges=[
            ("trigger", "fetch"),
            ("fetch", "on ok", "on_job_success"),
            ("fetch", "on error", "on_job_failure"),
        ],
    )
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    steps = steps_of(session, run.id)
    assert [s.exit_reason for s in steps] == ["fail", "success"]
    assert run.state == "success", "the failure was handled by a successful leaf"
    handler_out = session.get(Dataclip, steps[1].output_dataclip_id).body
    assert handler_out["handled"] is True
    assert "upstream down" in str(handler_out["errors"])


def test_failing_leaf_fails_the_run_and_the_flow_run(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session, project, jobs={"only": "fn(state => { throw new TypeError('bad input'); });"}
    )
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    assert (run.state, run.error_type) == ("failed", "TypeError")
    worker.wait_idle()
    assert prefect_client().read_flow_run(run.prefect_flow_run_id).state.is_failed()


def test_a_failed_step_is_a_failed_task_run_in_prefect(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={"first": "fn(s => s);", "broken": "fn(state => { throw new TypeError('nope'); });"},
    )
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    first, broken = steps_of(session, run.id)
    assert wait_for_task_run(first.prefect_task_run_id).state.is_completed()
    failed = wait_for_task_run(broken.prefect_task_run_id)
    assert failed.state.is_failed() and "TypeError: nope" in failed.state.message


def test_prefect_workers_can_execute_the_flow_too(
    session: Session, project, prefect_server
) -> None:
    """`prefect deploy` users run the deployment's flow with Prefect's own engine."""
    from lightning_flows.engine.prefect.flow import run_workflow

    wf = factories.make_workflow(
        session, project, jobs={"only": "fn(state => ({ ...state, data: { n: 7 } }));"}
    )
    enqueued = factories.make_run(session, wf, {"n": 1})
    state = run_workflow(run_id=str(enqueued.run.id), return_state=True)
    assert state.is_completed(), state.message
    run = wait_for_run(session, enqueued.run.id, timeout=5)
    assert run.state == "success"
    (step,) = steps_of(session, run.id)
    task_run = wait_for_task_run(step.prefect_task_run_id)
    assert task_run.name == "only" and task_run.flow_run_id == state.state_details.flow_run_id
