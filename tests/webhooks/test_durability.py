"""After a 200 the run happens, exactly once, whatever process dies (real subprocesses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from sqlmodel import Session, func, select

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.server import free_port
from lightning_flows.runs.models import Run, Step, WorkOrder
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.runs import wait_for_run

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from lightning_flows.cli.main import app; app()"]


@contextmanager
def process(argv: list[str], **env: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env={**os.environ, **env}, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the API did not start")


def test_api_killed_right_after_acknowledging(session: Session, project, prefect_server) -> None:
    wf = factories.make_workflow(session, project, jobs={"j": "fn(s => ({ ...s, done: true }));"})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "lightning_flows.api.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with process(api) as server:
        _wait_healthy(url)
        with httpx.Client(base_url=url, timeout=10) as http:
            acknowledged = [
                http.post(f"/i/{wf.triggers[0].id}", json={"i": i}).json()["run_id"]
                for i in range(20)
            ]
        os.killpg(server.pid, signal.SIGKILL)  # no graceful shutdown, nothing handed to Prefect
    assert len(acknowledged) == 20
    with process([*CLI, "worker", "--concurrency", "2"]):
        runs = [wait_for_run(session, run_id) for run_id in map(_uuid, acknowledged)]
    assert {r.state for r in runs} == {"success"}
    step_counts = session.exec(
        select(Step.run_id, func.count())
        .where(Step.run_id.in_([r.id for r in runs]))  # type: ignore[attr-defined]
        .group_by(Step.run_id)
    ).all()
    assert sorted(count for _, count in step_counts) == [1] * 20, "each executed exactly once"
    for run in runs[:5]:
        flow_runs = prefect_client().read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[f"work_order:{run.work_order_id}"])
            )
        )
        assert len(flow_runs) == 1


def test_a_run_hanging_past_the_max_duration_is_lost_then_retried(
    session: Session, project, prefect_server
) -> None:
    """The backstop, for a step that hangs on a live worker (a dead worker's runs are
    resumed instead: tests/engine/test_worker_loss.py): the run ends `lost` after the max
    run duration and, with `retry_lost_runs`, a new run of the work order succeeds."""
    from tests.support.http_server import local_http_server

    with local_http_server() as server:
        calls = {"n": 0}

        def first_call_hangs(_request):
            calls["n"] += 1
            if calls["n"] == 1:
                time.sleep(20)
            return 200, {"ok": True}

        server.route("GET", "/slow", first_call_hangs)
        cred = factories.make_credential(session, project, {"baseUrl": server.url})
        doc = factories.workflow_doc(
            jobs={"slow": "get('/slow');"}, adaptor="@openfn/language-http@7.2.10"
        )
        jobs = [{**j.model_dump(), "project_credential_id": cred} for j in doc.jobs]
        doc = WorkflowDocument.model_validate(
            {**doc.model_dump(), "jobs": jobs, "retry_lost_runs": True}
        )
        wf = workflows.create_workflow(session, project.id, doc, None)
        env = {
            # Long enough for the retried run on a busy machine, short enough for a test.
            "LIGHTNING_MAX_RUN_DURATION_SECONDS": "8",
            "LIGHTNING_LOST_RUN_GRACE_SECONDS": "0",
            "LIGHTNING_LOST_RUN_SWEEP_SECONDS": "0.5",
        }
        first = factories.make_run(session, wf, {}).run
        with process([*CLI, "worker"], **env):
            lost = wait_for_run(session, first.id, timeout=60)
            assert (lost.state, lost.error_type) == ("lost", "LostError")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                session.expire_all()
                runs = session.exec(
                    select(Run).where(Run.work_order_id == first.work_order_id)
                ).all()
                if len(runs) == 2 and all(r.is_final for r in runs):
                    break
                time.sleep(0.2)
    states = sorted(r.state for r in runs)
    assert states == ["lost", "success"], states
    assert session.get(WorkOrder, first.work_order_id).state == "success"
    assert prefect_client().read_flow_run(lost.prefect_flow_run_id).state.is_crashed()


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)
