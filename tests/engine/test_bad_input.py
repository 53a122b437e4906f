"""Every bad job ends its step and run with the right reason; the worker keeps serving."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from lightning_flows.core.config import get_settings
from lightning_flows.engine.prefect.client import prefect_client
from tests import factories
from tests.support.runs import logs_of, steps_of, wait_for_run

pytestmark = pytest.mark.slow


def _run(session: Session, project, body: str, **kw):
    wf = factories.make_workflow(session, project, jobs={"job": body}, **kw)
    run = wait_for_run(session, factories.make_run(session, wf, {"n": 1}).run.id)
    return run, steps_of(session, run.id)


def test_syntax_error_crashes_with_the_line(session: Session, project, worker) -> None:
    run, steps = _run(session, project, "fn(state => state);\nfn(state => {{ state );")
    assert run.state == "crashed"
    assert steps[0].exit_reason == "crash" and steps[0].error_type == "CompileError"
    assert "line 2" in steps[0].error_message or ":2:" in steps[0].error_message
    worker.wait_idle()
    assert prefect_client().read_flow_run(run.prefect_flow_run_id).state.is_crashed()


def test_unknown_adaptor_version_crashes_clearly(session: Session, project, worker) -> None:
    run, steps = _run(
        session, project, "fn(state => state);", adaptor="@openfn/language-common@99.99.99"
    )
    assert run.state == "crashed"
    assert steps[0].exit_reason == "crash"
    assert "99.99.99" in steps[0].error_message


def test_throwing_edge_condition_crashes_naming_the_edge(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs=["a", "b"],
        edges=[("trigger", "a"), ("a", "b", "js_expression", "state.data.missing.deeper > 1")],
    )
    run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
    assert (run.state, run.error_type) == ("crashed", "EdgeConditionError")
    assert len(steps_of(session, run.id)) == 1


def test_endless_loop_is_killed_and_the_next_run_works(
    session: Session, project, worker, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "step_timeout_seconds", 2.0)
    run, steps = _run(session, project, "fn(state => { while (true) {} });")
    assert (run.state, steps[0].exit_reason, steps[0].error_type) == (
        "killed",
        "kill",
        "TimeoutError",
    )
    monkeypatch.undo()
    run, _ = _run(session, project, "fn(state => ({ ...state, ok: true }));")
    assert run.state == "success"


def test_process_exit_cannot_kill_the_worker(session: Session, project, worker) -> None:
    run, steps = _run(session, project, "fn(state => { process.exit(1); });")
    assert run.state == "crashed" and steps[0].error_type == "ReferenceError"
    run, _ = _run(session, project, "fn(state => state);")
    assert run.state == "success"


def test_job_returning_nothing_is_explained(session: Session, project, worker) -> None:
    run, steps = _run(session, project, "fn(state => { state.data.n = 2; });")
    messages = " ".join(line.message for line in logs_of(session, run.id))
    assert run.state == "success" and steps[0].exit_reason == "success"
    assert "return" in messages.lower()


def test_state_over_the_limit_is_killed(session: Session, project, worker) -> None:
    limit = get_settings().state_limit_bytes
    run, steps = _run(
        session, project, f"fn(state => ({{ ...state, big: 'x'.repeat({limit + 1000}) }}));"
    )
    assert (run.state, steps[0].error_type) == ("killed", "StateTooLargeError")
