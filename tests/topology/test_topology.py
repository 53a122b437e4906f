"""The platform as separate hosts (network namespaces): PostgreSQL, Prefect, the API and
two worker hosts, started from deployments/services.yaml like compose and Kubernetes.

One topology serves the module, and the tests run in order: webhooks on two workers,
then one worker's network cut mid-run (its runs finish on the other), then that last
worker stopped and Prefect's stock process worker running the deployment runs."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from lightning_flows.topology import Topology
from lightning_flows.topology.network import netns_available
from lightning_flows.topology.services import ROOT, load_services
from lightning_flows.topology.workload import (
    QUICK_STEP,
    post_webhook,
    provision_chain,
    query,
    slow_step,
    wait_finished,
)

pytestmark = pytest.mark.slow
DEAD_AFTER = 5  # seconds of silence before a worker's runs are taken over


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    reason = netns_available()
    if reason is not None:
        pytest.skip(f"network namespaces are not available here: {reason}")
    settings = {
        "LIGHTNING_WORKER_DEAD_AFTER_SECONDS": str(DEAD_AFTER),
        "LIGHTNING_WORKER_HEARTBEAT_SECONDS": "1",
        "LIGHTNING_LOST_RUN_SWEEP_SECONDS": "1",
    }
    logs = os.environ.get("LIGHTNING_TOPOLOGY_LOGS")  # keep every host's log there
    with Topology(workers=2, settings=settings, keep_logs=Path(logs) if logs else None) as topo:
        yield topo


@pytest.fixture(scope="module")
def token(topology: Topology) -> str:
    return topology.api_token().strip()


def hosts_of(database_url: str, run_ids: list[uuid.UUID]) -> Counter[str]:
    """How many of the runs each host executed (worker names are `host:pid`)."""
    rows = query(
        database_url, "SELECT worker_name FROM runs WHERE id = ANY(%s)", [str(r) for r in run_ids]
    )
    return Counter(str(name).split(":")[0] for (name,) in rows)


def successful_steps(database_url: str, run_id: uuid.UUID) -> list[str]:
    rows = query(
        database_url,
        "SELECT j.name FROM steps s JOIN jobs j ON j.id = s.job_id "
        "WHERE s.run_id = %s AND s.exit_reason = 'success' ORDER BY s.started_at",
        str(run_id),
    )
    return [name for (name,) in rows]


def test_the_services_file_matches_compose_and_kubernetes() -> None:
    """Compose, Kubernetes and the topology start the same commands."""
    services = load_services()
    compose = yaml.safe_load((ROOT / "deployments" / "compose.yaml").read_text())["services"]
    for name in ("prefect", "migrate", "api", "worker"):
        assert compose[name]["command"] == services[name].command, name
    manifests = list(
        yaml.safe_load_all((ROOT / "deployments/kubernetes/lightning-flows.yaml").read_text())
    )
    commands = {
        c["name"]: c["command"]
        for doc in manifests
        if doc["kind"] in ("Deployment", "Job")
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    assert commands["prefect"] == services["prefect"].command
    assert commands["api"] == services["api"].command
    assert commands["worker"] == services["worker"].command
    assert commands["migrate"] == services["migrate"].command


def test_webhooks_into_the_api_host_run_on_both_worker_hosts(
    topology: Topology, token: str
) -> None:
    chain = provision_chain(topology.api_url, token, [slow_step(150), QUICK_STEP, QUICK_STEP])
    with httpx.Client() as client:
        run_ids = [post_webhook(client, topology.api_url, chain.trigger_id, n) for n in range(16)]
    states = wait_finished(topology.database_url, run_ids, timeout=120)
    assert set(states.values()) == {"success"}
    assert set(hosts_of(topology.database_url, run_ids)) == {"worker-1", "worker-2"}
    for run_id in run_ids:
        assert successful_steps(topology.database_url, run_id) == ["step 1", "step 2", "step 3"]
    (count,) = query(
        topology.database_url,
        "SELECT count(*) FROM log_lines WHERE run_id = ANY(%s)",
        [str(r) for r in run_ids],
    )[0]
    assert count > 0


def test_a_worker_host_cut_off_mid_run_has_its_runs_taken_over(
    topology: Topology, token: str
) -> None:
    chain = provision_chain(
        topology.api_url, token, [slow_step(1500), slow_step(1500), slow_step(1500)]
    )
    with httpx.Client() as client:
        run_ids = [post_webhook(client, topology.api_url, chain.trigger_id, n) for n in range(6)]
    on_cut_host = _wait_for_run_mid_way_on(topology, run_ids, "worker-1")
    topology.cut("worker-1")
    stranded = [
        uuid.UUID(str(run_id))
        for (run_id,) in query(
            topology.database_url,
            "SELECT id FROM runs WHERE id = ANY(%s) AND worker_name LIKE 'worker-1:%%' "
            "AND state IN ('claimed', 'started')",
            [str(r) for r in run_ids],
        )
    ]
    assert on_cut_host in stranded
    states = wait_finished(topology.database_url, run_ids, timeout=150)
    assert set(states.values()) == {"success"}, states
    assert hosts_of(topology.database_url, stranded) == {"worker-2": len(stranded)}
    for run_id in run_ids:  # completed steps are never run again
        assert successful_steps(topology.database_url, run_id) == ["step 1", "step 2", "step 3"]
    (note,) = query(
        topology.database_url,
        "SELECT count(*) FROM log_lines WHERE run_id = %s AND message LIKE 'Resuming%%'",
        str(on_cut_host),
    )
    assert note[0] == 1


def _wait_for_run_mid_way_on(
    topology: Topology, run_ids: list[uuid.UUID], host: str, timeout: float = 60
) -> uuid.UUID:
    """A run executing on `host` with its first step done (and its second under way)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            topology.database_url,
            "SELECT r.id FROM runs r WHERE r.id = ANY(%s) AND r.state = 'started' "
            "AND r.worker_name LIKE %s AND (SELECT count(*) FROM steps s "
            "WHERE s.run_id = r.id AND s.exit_reason = 'success') = 1",
            [str(r) for r in run_ids],
            f"{host}:%",
        )
        if rows:
            return uuid.UUID(str(rows[0][0]))
        time.sleep(0.1)
    raise AssertionError(f"no run got half-way on {host} within {timeout:.0f} s")


def test_prefects_stock_process_worker_runs_deployment_runs(topology: Topology, token: str) -> None:
    """The Prefect UI's Run (a flow run of the deployment, default parameters) and a cron
    schedule's flow run, executed by `prefect worker start`: the same records."""
    for host in topology.worker_hosts():
        topology.kill_host(host)  # only Prefect's worker polls the pool now
    topology.add_worker("prefect-worker")
    chain = provision_chain(topology.api_url, token, [QUICK_STEP, QUICK_STEP], cron="0 0 1 1 *")
    deployment_id = _wait_for_deployment(topology, chain.workflow_id)
    prefect = topology.prefect_api_url
    ui_run = httpx.post(f"{prefect}/deployments/{deployment_id}/create_flow_run", json={})
    scheduled = httpx.post(
        f"{prefect}/deployments/{deployment_id}/create_flow_run",
        json={"parameters": {"trigger_id": str(chain.cron_trigger_id)}},
    )
    flow_run_ids = [
        ui_run.raise_for_status().json()["id"],
        scheduled.raise_for_status().json()["id"],
    ]
    for flow_run_id in flow_run_ids:
        state = _wait_for_flow_run(prefect, flow_run_id)
        assert state["type"] == "COMPLETED", state
    rows = query(
        topology.database_url,
        "SELECT r.id, r.state, r.worker_name, r.prefect_flow_run_id, w.trigger_id "
        "FROM runs r JOIN work_orders w ON w.id = r.work_order_id "
        "WHERE w.workflow_id = %s",
        str(chain.workflow_id),
    )
    by_flow_run = {str(row[3]): row for row in rows}
    assert set(by_flow_run) == set(flow_run_ids)
    ui, cron = by_flow_run[flow_run_ids[0]], by_flow_run[flow_run_ids[1]]
    assert str(cron[4]) == str(chain.cron_trigger_id)
    for run_id, state, worker_name, flow_run_id, _trigger in (ui, cron):
        assert state == "success"
        assert worker_name == f"prefect:{flow_run_id}"
        assert successful_steps(topology.database_url, run_id) == ["step 1", "step 2"]
        steps = query(
            topology.database_url,
            "SELECT input_dataclip_id, output_dataclip_id, prefect_task_run_id "
            "FROM steps WHERE run_id = %s",
            str(run_id),
        )
        assert all(all(values) for values in steps), steps
        task_runs = httpx.post(
            f"{prefect}/task_runs/filter",
            json={"flow_runs": {"id": {"any_": [str(flow_run_id)]}}},
        ).json()
        assert sorted(t["name"] for t in task_runs) == ["step 1", "step 2"]


def _wait_for_deployment(topology: Topology, workflow_id: uuid.UUID, timeout: float = 60) -> str:
    """The workflow's Prefect deployment, published by the API after the save."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(
            topology.database_url,
            "SELECT prefect_deployment_id FROM workflows WHERE id = %s",
            str(workflow_id),
        )
        if rows and rows[0][0]:
            return str(rows[0][0])
        time.sleep(0.3)
    raise AssertionError("the workflow's deployment was not published")


def _wait_for_flow_run(prefect: str, flow_run_id: str, timeout: float = 120) -> dict[str, object]:
    import time

    deadline = time.monotonic() + timeout
    state: dict[str, object] = {}
    while time.monotonic() < deadline:
        state = httpx.get(f"{prefect}/flow_runs/{flow_run_id}").json()["state"] or {}
        if state.get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} did not finish: {state}")
