"""OpenFn semantics through the whole engine: edges, adaptors, credentials and scrubbing."""

from __future__ import annotations

import base64
import time

import pytest
from sqlmodel import Session, select

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Dataclip, LogLine
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.http_server import local_http_server
from tests.support.runs import logs_of, steps_of, wait_for_run

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-Pa55word-xyz"


def test_js_expression_edges_choose_the_branch(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session,
        project,
        jobs={
            "classify": "fn(state => state);",
            "adult": "fn(state => ({ ...state, branch: 'adult' }));",
            "minor": "fn(state => ({ ...state, branch: 'minor' }));",
        },
        edges=[
            ("trigger", "classify"),
            ("classify", "adult", "js_expression", "state.data.age >= 18"),
            ("classify", "minor", "js_expression", "state.data.age < 18"),
        ],
    )
    run = wait_for_run(session, factories.make_run(session, wf, {"age": 12}).run.id)
    steps = steps_of(session, run.id)
    assert run.state == "success"
    assert len(steps) == 2
    assert session.get(Dataclip, steps[1].output_dataclip_id).body["branch"] == "minor"


def test_trigger_js_edge_can_skip_everything(session: Session, project, worker) -> None:
    wf = factories.make_workflow(
        session, project, jobs=["a"], edges=[("trigger", "a", "js_expression", "!!state.data.go")]
    )
    run = wait_for_run(session, factories.make_run(session, wf, {"go": False}).run.id)
    assert run.state == "success" and steps_of(session, run.id) == []


def test_common_operations_and_lazy_state(session: Session, project, worker) -> None:
    body = """
fn(state => ({ ...state, data: { ...state.data, count: state.data.items.length } }));
fnIf($.data.count > 1, fn(state => ({ ...state, many: true })));
fn(state => ({ ...state, first: dataValue('items[0].name')(state) }));
each('$.data.items[*]', fn(state => { state.data.seen = true; return state; }));
"""
    wf = factories.make_workflow(session, project, jobs={"ops": body})
    items = [{"name": "ada"}, {"name": "grace"}]
    run = wait_for_run(session, factories.make_run(session, wf, {"items": items}).run.id)
    assert run.state == "success", steps_of(session, run.id)[0].error_message
    out = session.get(Dataclip, steps_of(session, run.id)[0].output_dataclip_id).body
    assert out["many"] is True and out["first"] == "ada"
    assert out["data"] == {"name": "grace", "seen": True}, "each leaves the last item in data"


def test_http_adaptor_with_basic_auth_never_leaks_the_secret(
    session: Session, project, worker
) -> None:
    with local_http_server() as server:
        cred = factories.make_credential(
            session,
            project,
            {"baseUrl": server.url, "username": "clinic", "password": SECRET},
        )
        doc = factories.workflow_doc(
            jobs={
                "fetch": "get('/patients/42');\n"
                f"fn(state => {{ console.log('password is {SECRET}'); return state; }});",
                "send": "post('/visits', state => ({ patient: state.data }));",
            },
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
        worker.wait_idle()
        steps = steps_of(session, run.id)
        assert run.state == "success", [s.error_message for s in steps]
        expected = "Basic " + base64.b64encode(f"clinic:{SECRET}".encode()).decode()
        assert [r.headers.get("Authorization") for r in server.received] == [expected] * 2
        assert server.received[1].body == {"patient": {"echo": None, "path": "/patients/42"}}

    encoded = base64.b64encode(f"clinic:{SECRET}".encode()).decode()
    stored = [line.message for line in logs_of(session, run.id)]
    stored += [str(session.get(Dataclip, s.output_dataclip_id).body) for s in steps]
    assert any("password is ***" in m for m in stored)
    assert not [m for m in stored if SECRET in m or encoded in m]
    assert all(
        "configuration" not in session.get(Dataclip, s.output_dataclip_id).body for s in steps
    )
    prefect_logs = _prefect_logs(run.prefect_flow_run_id, containing="password is")
    assert prefect_logs, "job logs are forwarded to Prefect"
    assert not [
        log.message for log in prefect_logs if SECRET in log.message or encoded in log.message
    ]
    flow_run = prefect_client().read_flow_run(run.prefect_flow_run_id)
    assert SECRET not in str(flow_run.parameters)


def _prefect_logs(flow_run_id, containing: str, timeout: float = 15) -> list:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = prefect_client().read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
        if any(containing in log.message for log in logs):
            return logs
        time.sleep(0.5)
    return []


def test_erase_all_keeps_no_bodies(session: Session, user, worker) -> None:
    project = factories.make_project(session, owner=user, retention_policy="erase_all")
    wf = factories.make_workflow(session, project, jobs=["a", "b"])
    run = wait_for_run(session, factories.make_run(session, wf, {"name": "Ada"}).run.id)
    assert run.state == "success"
    clips = session.exec(select(Dataclip).where(Dataclip.project_id == project.id)).all()
    assert len(clips) == 3 and all(c.body is None and c.wiped_at is not None for c in clips)
    assert session.exec(select(LogLine).where(LogLine.run_id == run.id)).all() is not None
