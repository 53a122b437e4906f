"""Automatic retries of a failing step: attempts recorded, Prefect shows them, kills not retried."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.retries import RetryPolicy
from lightning_flows.projects.models import Project
from lightning_flows.runs import queries
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.http_server import local_http_server
from tests.support.runs import logs_of, steps_of, wait_for_run, wait_for_task_run
from tests.support.web import sign_in


def _with_job_fields(doc: WorkflowDocument, **fields: Any) -> WorkflowDocument:
    return WorkflowDocument.model_validate(
        {**doc.model_dump(), "jobs": [{**j.model_dump(), **fields} for j in doc.jobs]}
    )


def test_policy_retries_fail_and_crash_and_kill_only_when_asked() -> None:
    policy = RetryPolicy(max_attempts=3, delay_seconds=2, backoff=3)
    assert policy.should_retry("fail", 1) and policy.should_retry("crash", 2)
    assert not policy.should_retry("fail", 3), "three attempts in all"
    assert not policy.should_retry("kill", 1)
    assert not policy.should_retry("exception", 1) and not policy.should_retry("lost", 1)
    assert RetryPolicy(max_attempts=2, on_kill=True).should_retry("kill", 1)
    assert [policy.delay_before(n) for n in (2, 3)] == [2, 6]
    assert RetryPolicy.of_job({}) == RetryPolicy()  # snapshots from before retries


@pytest.mark.slow
def test_a_step_failing_twice_then_succeeding_is_retried(
    client, session: Session, project, user, worker
) -> None:
    with local_http_server() as server:
        calls = {"n": 0}

        def flaky(_request):
            calls["n"] += 1
            return (503, {"error": "busy"}) if calls["n"] <= 2 else (200, {"ok": True})

        server.route("GET", "/flaky", flaky)
        cred = factories.make_credential(session, project, {"baseUrl": server.url})
        doc = factories.workflow_doc(
            jobs={"flaky": "get('/flaky');"}, adaptor="@openfn/language-http@7.2.10"
        )
        doc = _with_job_fields(doc, project_credential_id=cred, max_attempts=3)
        wf = factories.make_workflow(session, project, doc)
        run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
        worker.wait_idle()

    assert run.state == "success", "the run's result is that of the last attempt"
    steps = steps_of(session, run.id)
    assert [(s.attempt, s.exit_reason) for s in steps] == [
        (1, "fail"),
        (2, "fail"),
        (3, "success"),
    ]
    assert len({s.prefect_task_run_id for s in steps}) == 1, "one task run, three attempts"
    assert all(s.input_dataclip_id == steps[0].input_dataclip_id for s in steps)
    messages = [line.message for line in logs_of(session, run.id)]
    assert any("Attempt 1 of 3 ended fail" in m for m in messages)

    task_run_id = steps[0].prefect_task_run_id
    task_run = wait_for_task_run(task_run_id)
    for _ in range(100):
        if task_run.state and task_run.state.is_completed():
            break
        time.sleep(0.1)
        task_run = prefect_client().read_task_run(task_run_id)
    assert task_run.state.is_completed()
    assert task_run.run_count == 3
    names = [s.name for s in prefect_client().read_task_run_states(task_run_id)]
    assert names.count("AwaitingRetry") == 2 and names.count("Retrying") == 2

    detail = queries.run_detail(session, *queries.get_run_with_work_order(session, run.id))
    assert [(s.attempt, s.max_attempts) for s in detail.steps] == [(1, 3), (2, 3), (3, 3)]
    sign_in(client, user.email, factories.PASSWORD)
    page = client.get(f"/projects/{project.id}/runs/{run.id}")
    assert page.status_code == 200 and "attempt 2 of 3" in page.text


@pytest.mark.slow
def test_a_killed_step_is_not_retried_unless_the_job_opts_in(
    session: Session, project, worker
) -> None:
    row = session.get(Project, project.id)
    assert row is not None
    row.step_timeout_seconds = 1
    session.add(row)
    session.commit()
    hang = "fn(() => new Promise(() => {}));"
    plain = factories.make_workflow(
        session,
        project,
        _with_job_fields(factories.workflow_doc(jobs={"hang": hang}), max_attempts=3),
    )
    run = wait_for_run(session, factories.make_run(session, plain, {}).run.id)
    assert run.state == "killed"
    assert [(s.attempt, s.exit_reason) for s in steps_of(session, run.id)] == [(1, "kill")]

    opted = factories.make_workflow(
        session,
        project,
        _with_job_fields(
            factories.workflow_doc(jobs={"hang": hang}), max_attempts=2, retry_on_kill=True
        ),
    )
    run = wait_for_run(session, factories.make_run(session, opted, {}).run.id)
    worker.wait_idle()
    assert run.state == "killed"
    assert [(s.attempt, s.exit_reason) for s in steps_of(session, run.id)] == [
        (1, "kill"),
        (2, "kill"),
    ]
