"""A worker killed mid-run: live workers take its runs over and resume them at the step
that was in flight (real worker subprocesses, real Prefect server, real Node)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest
from sqlmodel import Session, func, select

from lightning_flows.engine.prefect import deployments
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Run, Step
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories
from tests.support.processes import CLI, process
from tests.support.runs import steps_of, wait_for_run

pytestmark = pytest.mark.slow
SLOW_STEP = "fn(async s => { await new Promise(r => setTimeout(r, 15000)); return s; });"
QUICK = "fn(s => ({ ...s, data: { ...s.data, seen: (s.data.seen || 0) + 1 } }));"
FAST_LIVENESS = {
    "LIGHTNING_WORKER_HEARTBEAT_SECONDS": "1",
    "LIGHTNING_WORKER_DEAD_AFTER_SECONDS": "8",
    "LIGHTNING_LOST_RUN_SWEEP_SECONDS": "1",
}


def _workflow(session: Session, project, on_worker_loss: str):
    doc = factories.workflow_doc(jobs={"first": QUICK, "slow": SLOW_STEP, "last": QUICK})
    doc = WorkflowDocument.model_validate({**doc.model_dump(), "on_worker_loss": on_worker_loss})
    return factories.make_workflow(session, project, doc)


def _wait_in_slow_step(session: Session, run_id: uuid.UUID, timeout: float = 90) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        steps = steps_of(session, run_id)
        if len(steps) == 2 and steps[1].exit_reason is None:
            return session.get(Run, run_id)
        session.rollback()
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached its slow step")


def test_a_killed_workers_runs_resume_on_the_other_worker(
    session: Session, project, prefect_server: str
) -> None:
    resume_wf = _workflow(session, project, "resume")
    lost_wf = _workflow(session, project, "mark_lost")
    env = {**os.environ, **FAST_LIVENESS}
    resumed = factories.make_run(session, resume_wf, {"data": {}}).run
    marked = factories.make_run(session, lost_wf, {"data": {}}).run
    with process([*CLI, "worker", "--concurrency", "2"], env) as doomed:
        for run_id in (resumed.id, marked.id):
            assert _wait_in_slow_step(session, run_id).worker_name.endswith(f":{doomed.pid}")
        with process([*CLI, "worker", "--concurrency", "2"], env):
            os.killpg(doomed.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            lost = wait_for_run(session, marked.id, timeout=60)
            lost_after = time.monotonic() - killed_at
            done = wait_for_run(session, resumed.id, timeout=60)

    assert (done.state, done.error_type) == ("success", None), done.error_type
    steps = steps_of(session, done.id)
    assert [(s.exit_reason) for s in steps] == ["success", "lost", "success", "success"]
    assert "stopped responding" in steps[1].error_message
    assert steps[2].job_id == steps[1].job_id, "the interrupted step ran again, elsewhere"
    successes = session.exec(
        select(Step.job_id, func.count())
        .where(Step.run_id == done.id, Step.exit_reason == "success")
        .group_by(Step.job_id)
    ).all()
    assert sorted(n for _, n in successes) == [1, 1, 1], "each job succeeds once per run"
    assert prefect_client().read_flow_run(done.prefect_flow_run_id).state.is_completed()

    assert (lost.state, lost.error_type) == ("lost", "LostError")
    assert lost_after < 8 + 15, f"mark_lost took {lost_after:.0f}s"
    assert [s.exit_reason for s in steps_of(session, lost.id)] == ["success", "lost"]
    assert prefect_client().read_flow_run(lost.prefect_flow_run_id).state.is_crashed()


def test_the_prefect_ui_shows_the_pool_and_deployments_ready_while_a_worker_runs(
    session: Session, project, prefect_server: str
) -> None:
    from prefect.client.schemas.objects import DeploymentStatus, WorkPoolStatus

    from lightning_flows.engine.worker import Worker

    wf = factories.make_workflow(session, project, jobs={"a": QUICK})
    deployment_id = deployments.ensure_deployment(wf.id)
    assert deployment_id is not None
    w = Worker(concurrency=1, prefect_poll_interval=0.3)
    w.heartbeat_interval = 0.5
    thread = threading.Thread(target=w.serve, daemon=True)
    thread.start()
    try:
        client = prefect_client()
        pool = deployments.work_pool_name()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pool_status = client.read_work_pool(pool).status
            deployment_status = client.read_deployment(deployment_id).status
            names = {w.name for w in client.read_workers_for_work_pool(pool)}
            if (
                pool_status == WorkPoolStatus.READY
                and deployment_status == DeploymentStatus.READY
                and w.name in names
            ):
                break
            time.sleep(0.3)
        assert pool_status == WorkPoolStatus.READY
        assert deployment_status == DeploymentStatus.READY
        assert w.name in names
    finally:
        w.stop(grace=5)
        thread.join(timeout=30)
