"""prefect.yaml: `prefect deploy --all` makes a deployment a stock Prefect worker can run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.models import Run, WorkOrder
from tests import factories
from tests.support.runs import logs_of, steps_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_prefect_deploy_creates_a_deployment_stock_workers_can_run(
    session: Session, project: factories.Project, prefect_server: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    pool = ["work-pool", "create", "lightning-flows", "--type", "process", "--overwrite"]
    subprocess.run(
        [sys.executable, "-m", "prefect", *pool],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    deployed = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    client = prefect_client()
    deployment = client.read_deployment_by_name("lightning-flows-run/lightning-flows-run")
    assert deployment.work_pool_name == "lightning-flows"
    assert deployment.entrypoint == "lightning_flows.engine.prefect.flow:run_workflow"
    assert not deployment.job_variables  # no database URL or key stored in Prefect

    wf = factories.make_workflow(
        session, project, jobs={"only": "fn(state => ({ ...state, data: { n: 7 } }));"}
    )
    flow_run = client.create_flow_run_from_deployment(
        deployment.id, parameters={"workflow_id": str(wf.id)}
    )
    # What a process worker does with it: Prefect's engine in a fresh process, elsewhere.
    executed = subprocess.run(
        [sys.executable, "-m", "prefect.engine"],
        cwd=tmp_path,
        env={**env, "PREFECT__FLOW_RUN_ID": str(flow_run.id)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert executed.returncode == 0, executed.stdout[-3000:] + executed.stderr[-3000:]
    assert client.read_flow_run(flow_run.id).state.is_completed()
    session.expire_all()
    run = session.exec(
        select(Run).join(WorkOrder).where(WorkOrder.workflow_id == wf.id)  # type: ignore[arg-type]
    ).one()
    assert run.state == "success" and run.prefect_flow_run_id == flow_run.id
    (step,) = steps_of(session, run.id)
    assert step.exit_reason == "success" and step.output_dataclip_id is not None
    assert logs_of(session, run.id)
