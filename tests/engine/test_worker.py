"""The worker claims runs in batches and hands them to Prefect; nothing is lost when
Prefect cannot take them."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import SyncPrefectClient
from sqlmodel import Session

import lightning_flows.engine.prefect_api as prefect_api
from lightning_flows.engine.worker import Worker
from lightning_flows.runs.models import Run, WorkOrder
from tests import factories
from tests.support.runs import wait_for_run

pytestmark = pytest.mark.slow


def test_runs_claimed_while_prefect_is_unreachable_are_given_back(
    session: Session, project, prefect_server, monkeypatch
) -> None:
    wf = factories.make_workflow(session, project, jobs={"only": "fn(s => s);"})
    run_ids = [factories.make_run(session, wf, {"n": n}).run.id for n in range(3)]
    worker = Worker(concurrency=4, name="test-worker")

    nobody = SyncPrefectClient(api="http://127.0.0.1:9/api")  # a closed port: refused
    with nobody:
        monkeypatch.setattr(prefect_api, "_client", nobody)
        assert worker.poll_once() == 0
    monkeypatch.undo()
    session.expire_all()
    for run_id in run_ids:
        run = session.get(Run, run_id)
        assert (run.state, run.worker_name, run.prefect_flow_run_id) == ("available", None, None)
        assert session.get(WorkOrder, run.work_order_id).state == "pending"

    worker._dispatch_paused_until = 0  # Prefect is back: do not wait out the pause
    assert worker.poll_once() == 3, "one batch claims every waiting run"
    worker.wait_idle()
    for run_id in run_ids:
        run = wait_for_run(session, run_id)
        assert run.state == "success" and run.worker_name == "test-worker"
        flow_run = prefect_api.prefect_client().read_flow_run(run.prefect_flow_run_id)
        assert flow_run.state.is_completed() and flow_run.parameters["run_id"] == str(run_id)
