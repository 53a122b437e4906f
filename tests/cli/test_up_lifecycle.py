"""`lightning-flows up` stops cleanly, leaves no process behind, and runs alone on its data."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from lightning_flows.cli import lifecycle
from lightning_flows.cli.lifecycle import Interrupted, StopSignals, stop_worker
from lightning_flows.core import instance_lock
from lightning_flows.runs.models import Run, Step
from tests import factories
from tests.support.processes import (
    CLI,
    alive,
    descendants,
    platform_environment,
    process,
    wait_healthy,
)

GRACE = 5.0
# ~1.5 s, or as long as the request asks (one step outlives the grace period).
SLOW_JOB = (
    "fn(async s => { await new Promise(r => setTimeout(r, s.data.sleep || 1500)); return s; });"
)


# -- the lock (no subprocess) ---------------------------------------------------------------


def test_lock_names_its_holder(tmp_path: Path) -> None:
    lock = instance_lock.acquire(tmp_path)
    lock.record("http://127.0.0.1:4321")
    try:
        with pytest.raises(instance_lock.AlreadyRunning) as refused:
            instance_lock.acquire(tmp_path)
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message
        assert "http://127.0.0.1:4321" in message
        assert "Stop it first." in message
    finally:
        lock.release()
    instance_lock.acquire(tmp_path).release()  # free again once released


def test_lock_before_the_holder_wrote_its_details(tmp_path: Path) -> None:
    lock = instance_lock.acquire(tmp_path)
    try:
        with pytest.raises(instance_lock.AlreadyRunning, match="already running on this data"):
            instance_lock.acquire(tmp_path)
    finally:
        lock.release()


# -- signals and the worker drain (no subprocess) -------------------------------------------


def test_a_stop_signal_interrupts_start_up_then_is_only_recorded() -> None:
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals = StopSignals().install()
    try:
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs between bytecodes
        told: list[bool] = []
        signals.on_signal.append(lambda: told.append(True))
        signals.interrupting = False
        signal.raise_signal(signal.SIGINT)  # as uvicorn re-raises what it caught
        assert signals.received == signal.SIGTERM and signals.name == "SIGTERM"
        assert told == [True]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Runner:
    def __init__(self, takes_grace: bool) -> None:
        self.takes_grace = takes_grace
        self.stopped = threading.Event()
        self.grace: float | None = None

    def stop(self, *grace: float) -> None:
        if grace and not self.takes_grace:
            raise TypeError("stop() takes no grace")
        self.grace = grace[0] if grace else None
        self.stopped.set()

    def serve(self) -> None:
        self.stopped.wait(10)


@pytest.mark.parametrize("takes_grace", [True, False])
def test_stop_worker_passes_the_grace_period_when_it_can(takes_grace: bool) -> None:
    runner = _Runner(takes_grace)
    thread = threading.Thread(target=runner.serve)
    thread.start()
    assert stop_worker(runner, thread, 0.5)
    assert not thread.is_alive()
    assert runner.grace == (0.5 if takes_grace else None)


def test_stop_worker_gives_up_after_the_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    killed: list[bool] = []
    monkeypatch.setattr(lifecycle, "close_node_pool", lambda: killed.append(True))
    runner = _Runner(True)
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(30,), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        # The grace, then the steps are ended and the thread gets up to grace + 4 s in all.
        assert not stop_worker(runner, thread, 0.2)
        assert time.monotonic() - started < 0.2 + 4 + 1.5
        assert killed == [True], "the steps still running were ended"
    finally:
        release.set()
        thread.join()


# -- real subprocesses ----------------------------------------------------------------------


@pytest.fixture
def platform_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of an `up` with its own data dir, database, ports and embedded Prefect."""
    with platform_environment(
        tmp_path,
        LIGHTNING_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        LIGHTNING_NODE_POOL_SIZE="2",
        LIGHTNING_WORKER_CONCURRENCY="4",
    ) as env:
        yield env


def _url(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['LIGHTNING_PORT']}"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_second_up_on_the_same_data_dir_is_refused(platform_env: dict[str, str]) -> None:
    lock = instance_lock.acquire(Path(platform_env["LIGHTNING_DATA_DIR"]))
    lock.record("http://127.0.0.1:4999")
    try:
        refused = _cli(platform_env, "up")
    finally:
        lock.release()
    assert refused.returncode == 2, refused.stderr
    assert "already running on this data directory" in refused.stderr
    assert f"pid {os.getpid()}" in refused.stderr and "http://127.0.0.1:4999" in refused.stderr
    assert "Stop it first." in refused.stderr


@pytest.mark.slow
def test_sigterm_under_load_stops_every_process_and_loses_no_run(
    platform_env: dict[str, str],
) -> None:
    url = _url(platform_env)
    with process([*CLI, "up"], platform_env) as up:
        wait_healthy(url, timeout=180, proc=up)
        refused = _cli(platform_env, "up")  # a second `up` on the same data directory
        assert refused.returncode == 2, refused.stderr
        assert f"pid {up.pid}" in refused.stderr and url in refused.stderr

        trigger = _webhook_workflow(platform_env)
        with httpx.Client(base_url=url, timeout=10) as http:
            long_run = http.post(f"/i/{trigger}", json={"sleep": (GRACE + 8) * 1000})
        assert long_run.status_code == 200, long_run.text
        posting = _Poster(f"{url}/i/{trigger}")
        posting.start()
        try:
            _wait_started(platform_env, long_run.json()["run_id"], posting)
            tree = [up.pid, *descendants(up.pid)]
            assert len(tree) >= 3, "up, the Prefect server and Node processes"
            up.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            time.sleep(0.5)  # a few more requests against a stopping server
        finally:
            posting.stop()
        tree += [pid for pid in descendants(up.pid) if pid not in tree]
        survivors = _wait_gone(up, tree, deadline=stopped_at + GRACE + 5)
        took = time.monotonic() - stopped_at
        assert not survivors, f"{survivors} still running {took:.1f}s after SIGTERM"
        assert up.returncode == 0, "stopped in order, within the grace period"
        print(f"up and its {len(tree) - 1} descendants stopped within {took:.1f}s")
    acknowledged = [long_run.json()["run_id"], *posting.run_ids]
    assert len(acknowledged) >= 10, posting.errors

    with process([*CLI, "up"], platform_env) as again:  # the lock was released: starts
        wait_healthy(url, timeout=180, proc=again)
        states = _wait_final(url, platform_env, acknowledged, timeout=180)
        assert set(states.values()) == {"success"}, states

        # kill -9: the embedded Prefect server and the Node processes die with it.
        tree = [again.pid, *descendants(again.pid)]
        os.kill(again.pid, signal.SIGKILL)
        again.wait()
        survivors = _wait_gone(again, tree, deadline=time.monotonic() + 10)
        assert not survivors


@pytest.mark.slow
def test_sigterm_to_worker_lets_runs_in_progress_finish(
    session: Session, project: factories.Project, prefect_server: str
) -> None:
    wf = factories.make_workflow(session, project, jobs={"slow": SLOW_JOB})
    run_ids = [factories.make_run(session, wf, {}).run.id for _ in range(3)]
    env = {**os.environ, "LIGHTNING_SHUTDOWN_GRACE_SECONDS": str(GRACE)}
    env["LIGHTNING_NODE_POOL_SIZE"] = "2"
    with process([*CLI, "worker", "--concurrency", "2"], env) as worker:
        in_step = _wait_for_a_step(session, run_ids)
        tree = [worker.pid, *descendants(worker.pid)]
        worker.send_signal(signal.SIGTERM)
        survivors = _wait_gone(worker, tree, deadline=time.monotonic() + GRACE + 5)
        assert not survivors
        assert worker.returncode == 0
    # The step in progress finished within the grace period; runs between steps or not
    # yet claimed wait for the next worker.
    assert _states(session, [in_step]) == {"success"}
    assert _states(session, run_ids) <= {"success", "available"}


def _wait_for_a_step(session: Session, run_ids: list[uuid.UUID]) -> uuid.UUID:
    """The first of `run_ids` whose step is executing."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        session.expire_all()
        step = session.exec(select(Step).where(col(Step.run_id).in_(run_ids))).first()
        if step is not None:
            return step.run_id
        session.rollback()
        time.sleep(0.05)
    raise AssertionError("no step started")


def _states(session: Session, run_ids: list[uuid.UUID]) -> set[str]:
    session.expire_all()
    return {run.state for run in session.exec(select(Run).where(col(Run.id).in_(run_ids)))}


# -- helpers --------------------------------------------------------------------------------


def _token(env: dict[str, str]) -> str:
    email = "ops@example.org"
    created = _cli(env, "users", "create", "--email", email, "--password", "correct horse battery")
    assert created.returncode == 0, created.stderr
    token = _cli(env, "tokens", "create", "--email", email)
    assert token.returncode == 0, token.stderr
    env["_TOKEN"] = token.stdout.strip().splitlines()[-1]
    return env["_TOKEN"]


def _api(env: dict[str, str]) -> httpx.Client:
    token = env.get("_TOKEN") or _token(env)
    return httpx.Client(
        base_url=_url(env), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _webhook_workflow(env: dict[str, str]) -> str:
    """A project and a webhook workflow with one ~1.5 s job; returns the trigger id."""
    with _api(env) as api:
        project = api.post("/api/projects", json={"name": "lifecycle"})
        assert project.status_code == 201, project.text
        doc = factories.workflow_doc(jobs={"slow": SLOW_JOB}).model_dump(mode="json")
        workflow = api.post(f"/api/projects/{project.json()['id']}/workflows", json=doc)
        assert workflow.status_code == 201, workflow.text
        return str(workflow.json()["triggers"][0]["id"])


class _Poster(threading.Thread):
    """Posts webhooks until stopped; keeps the run id of every 200."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.run_ids: list[str] = []
        self.errors: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            i = 0
            while not self._stop_event.is_set():
                i += 1
                try:
                    answer = http.post(self.url, json={"i": i})
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                    time.sleep(0.05)
                    continue
                if answer.status_code == 200:
                    self.run_ids.append(answer.json()["run_id"])
                else:
                    self.errors.append(f"{answer.status_code} {answer.text[:200]}")
                time.sleep(0.05)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


def _wait_started(env: dict[str, str], run_id: str, posting: _Poster) -> None:
    """Until `run_id` is in its (long) step and more runs wait behind it."""
    deadline = time.monotonic() + 120
    with _api(env) as api:
        while time.monotonic() < deadline:
            in_step = bool(api.get(f"/api/runs/{run_id}").json().get("steps"))
            if in_step and len(posting.run_ids) >= 10:
                return
            time.sleep(0.2)
    raise AssertionError(f"run {run_id} has no step; errors: {posting.errors[-5:]}")


def _wait_gone(proc: subprocess.Popen[bytes], pids: list[int], deadline: float) -> list[int]:
    """Reap `proc`, then wait until none of `pids` is alive; returns the survivors."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    while time.monotonic() < deadline:
        survivors = [pid for pid in pids if pid != proc.pid and alive(pid)]
        if not survivors and proc.poll() is not None:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def _wait_final(
    url: str, env: dict[str, str], run_ids: list[str], timeout: float
) -> dict[str, str]:
    final = {"success", "failed", "crashed", "cancelled", "killed", "exception", "lost"}
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with _api(env) as api:
        while time.monotonic() < deadline:
            for run_id in run_ids:
                if states.get(run_id) not in final:
                    states[run_id] = api.get(f"/api/runs/{run_id}").json()["state"]
            if all(state in final for state in states.values()):
                return states
            time.sleep(0.5)
    pending = {run_id: state for run_id, state in states.items() if state not in final}
    raise AssertionError(f"{len(pending)} runs unfinished after {timeout:.0f}s: {pending}")
