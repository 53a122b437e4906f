"""The worker claims runs in batches and hands them to Prefect; nothing is lost when
Prefect cannot take them."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import SyncPrefectClient
from sqlmodel import Session

import lightning_flows.engine.prefect.client as prefect_api
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


def test_a_run_given_back_after_its_flow_run_was_created_still_runs_once(
    session: Session, project, prefect_server
) -> None:
    """Prefect took one deployment's flow runs but not another's: every claim of the
    batch is given back; the runs whose flow runs exist reuse them (same id)."""
    from lightning_flows.engine.prefect.dispatch import create_flow_runs
    from lightning_flows.runs.queue import claim_runs, release_claims

    wf = factories.make_workflow(session, project, jobs={"only": "fn(s => s);"})
    run_id = factories.make_run(session, wf, {"n": 1}).run.id
    claimed = claim_runs(session, 1, "earlier-worker")
    created, failed = create_flow_runs(claimed)
    assert not failed and run_id in created
    release_claims(session, [run_id])

    worker = Worker(concurrency=1, name="test-worker")
    assert worker.poll_once() == 1
    worker.wait_idle()
    run = wait_for_run(session, run_id)
    assert run.state == "success" and run.prefect_flow_run_id == created[run_id].id
    flow_run = prefect_api.prefect_client().read_flow_run(run.prefect_flow_run_id)
    assert flow_run.state.is_completed()
