"""Prefect's database deleted while the platform is stopped: after `up`, the runs
acknowledged before and after it all finish (the deployments are made again)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.support.processes import (
    CLI,
    descendants,
    kill_group_and_process,
    platform_environment,
    process,
    wait_healthy,
)

pytestmark = pytest.mark.slow

FINAL = {"success", "failed", "crashed", "cancelled", "killed", "exception", "lost"}


@pytest.fixture
def platform_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An `up` of its own: data dir, database, free ports, embedded Prefect, deployments."""
    with platform_environment(
        tmp_path,
        LIGHTNING_PREFECT_SYNC="true",
        LIGHTNING_SHUTDOWN_GRACE_SECONDS="5",
        LIGHTNING_NODE_POOL_SIZE="1",
        LIGHTNING_WORKER_CONCURRENCY="2",
    ) as env:
        yield env


def test_runs_finish_after_prefect_lost_its_database(
    platform_env: dict[str, str], tmp_path: Path
) -> None:
    env, url = platform_env, f"http://127.0.0.1:{platform_env['LIGHTNING_PORT']}"
    prefect_home = Path(env["LIGHTNING_DATA_DIR"]) / "prefect"
    log = (tmp_path / "up.log").open("ab")

    # 1. No worker: the acknowledged run waits in the queue while the platform stops.
    with process([*CLI, "up", "--no-worker"], env, stdout=log, stderr=log) as up:
        wait_healthy(url, timeout=180, proc=up)
        token = _token(env)
        with _api(url, token) as api:
            trigger, workflow_id = _webhook_workflow(api)
            old_deployment = _wait_for_deployment(env, workflow_id)
            queued = [_post(url, trigger, 1)]
        _stop(up)

    databases = list(prefect_home.glob("prefect.db*"))
    assert any(p.name == "prefect.db" for p in databases), list(prefect_home.iterdir())
    for path in databases:
        path.unlink()

    # 2. A new, empty Prefect database: the queued run and new ones all finish.
    with process([*CLI, "up"], env, stdout=log, stderr=log) as again:
        wait_healthy(url, timeout=180, proc=again)
        new = [_post(url, trigger, i) for i in range(2, 5)]
        try:
            states = _wait_final(url, token, queued + new, timeout=180)
        except AssertionError as exc:
            tail = (tmp_path / "up.log").read_text(errors="replace").splitlines()[-30:]
            raise AssertionError(f"{exc}\n`up` said:\n" + "\n".join(tail)) from None
        assert set(states.values()) == {"success"}, states
        deployment = _wait_for_deployment(env, workflow_id)
        assert deployment != old_deployment, "made again in the new Prefect database"
        _stop(again)
    log.close()


# -- helpers --------------------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _token(env: dict[str, str]) -> str:
    email = "reset@example.org"
    created = _cli(env, "users", "create", "--email", email, "--password", "correct horse battery")
    assert created.returncode == 0, created.stderr
    token = _cli(env, "tokens", "create", "--email", email)
    assert token.returncode == 0, token.stderr
    return token.stdout.strip().splitlines()[-1]


def _api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _webhook_workflow(api: httpx.Client) -> tuple[str, str]:
    project = api.post("/api/projects", json={"name": "prefect reset"})
    assert project.status_code == 201, project.text
    doc = factories.workflow_doc(name="Survives resets", jobs={"echo": "fn(s => s);"})
    workflow = api.post(
        f"/api/projects/{project.json()['id']}/workflows", json=doc.model_dump(mode="json")
    )
    assert workflow.status_code == 201, workflow.text
    return str(workflow.json()["triggers"][0]["id"]), str(workflow.json()["id"])


def _post(url: str, trigger: str, i: int) -> str:
    answer = httpx.post(f"{url}/i/{trigger}", json={"i": i}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["run_id"])


def _wait_for_deployment(env: dict[str, str], workflow_id: str, timeout: float = 60) -> str:
    """The id of the workflow's deployment in the embedded Prefect (published in the
    background after the save)."""
    prefect = f"http://127.0.0.1:{env['LIGHTNING_PREFECT_PORT']}/api"
    body = {"deployments": {"tags": {"all_": [f"workflow:{workflow_id}"]}}}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = httpx.post(f"{prefect}/deployments/filter", json=body, timeout=10)
        if found.status_code == 200 and found.json():
            return str(found.json()[0]["id"])
        time.sleep(0.3)
    raise AssertionError(f"no Prefect deployment for workflow {workflow_id} in {timeout:.0f}s")


def _wait_final(url: str, token: str, run_ids: list[str], timeout: float) -> dict[str, str]:
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with _api(url, token) as api:
        while time.monotonic() < deadline:
            for run_id in run_ids:
                if states.get(run_id) not in FINAL:
                    states[run_id] = api.get(f"/api/runs/{run_id}").json()["state"]
            if all(state in FINAL for state in states.values()):
                return states
            time.sleep(0.3)
    raise AssertionError(f"runs unfinished after {timeout:.0f}s: {states}")


def _stop(up: subprocess.Popen[bytes], timeout: float = 45) -> None:
    """SIGTERM, and wait for the exit; kill the whole tree if it overstays."""
    tree = [up.pid, *descendants(up.pid)]
    up.send_signal(signal.SIGTERM)
    try:
        up.wait(timeout)
    except subprocess.TimeoutExpired:
        for pid in tree + descendants(up.pid):
            kill_group_and_process(pid)
        up.wait()
        raise AssertionError(f"`up` did not stop within {timeout:.0f}s of SIGTERM") from None
