"""Retrying a failed flow run in Prefect resumes at the failed step."""

from __future__ import annotations

import pytest
from prefect.states import AwaitingRetry
from sqlmodel import Session

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.http_server import local_http_server
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow


def test_prefect_retry_skips_completed_steps(session: Session, project, worker) -> None:
    with local_http_server() as server:
        attempts = {"flaky": 0}

        def flaky(_request):
            attempts["flaky"] += 1
            return (500, {"error": "not yet"}) if attempts["flaky"] == 1 else (200, {"ok": True})

        server.route("GET", "/flaky", flaky)
        cred = factories.make_credential(session, project, {"baseUrl": server.url})
        doc = factories.workflow_doc(
            jobs={"count": "post('/count', { n: 1 });", "flaky": "get('/flaky');"},
            adaptor="@openfn/language-http@7.2.10",
        )
        doc = WorkflowDocument.model_validate(
            {
                **doc.model_dump(),
                "jobs": [{**j.model_dump(), "project_credential_id": cred} for j in doc.jobs],
            }
        )
        wf = factories.make_workflow(session, project, doc)
        run = wait_for_run(session, factories.make_run(session, wf, {}).run.id)
        assert run.state == "failed"
        worker.wait_idle()
        flow_run_id = run.prefect_flow_run_id
        assert prefect_client().read_flow_run(flow_run_id).state.is_failed()

        prefect_client().set_flow_run_state(flow_run_id, AwaitingRetry(), force=True)
        run = _wait_for_state(session, run.id, "success")
        worker.wait_idle()

        assert server.hits("/count") == 1, "the completed step was not executed again"
        assert server.hits("/flaky") == 2
        steps = steps_of(session, run.id)
        assert [(s.exit_reason) for s in steps] == ["success", "fail", "success"]
        flow_run = prefect_client().read_flow_run(flow_run_id)
        assert flow_run.state.is_completed() and flow_run.run_count == 2


def _wait_for_state(session: Session, run_id, state: str, timeout: float = 60):
    import time

    from lightning_flows.runs.models import Run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(Run, run_id)
        if run.state == state:
            return run
        session.rollback()
        time.sleep(0.1)
    raise AssertionError(f"run stayed {run.state}")
