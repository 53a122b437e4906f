"""The whole platform killed with `kill -9` under webhook load, then started again on the
same data directory: every acknowledged run finishes, and no job of a run succeeds twice."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, col, func, select

from lightning_flows.runs.models import Run, Step
from tests import factories
from tests.support.processes import CLI, descendants, platform_environment, process, wait_healthy

pytestmark = pytest.mark.slow
TOTAL, CONCURRENCY, KILL_AFTER = 400, 16, 150
STEP = "fn(async s => { await new Promise(r => setTimeout(r, 50)); return s; });"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """Environment of an `up` with its own data dir, database, ports and embedded Prefect."""
    with platform_environment(
        tmp_path, LIGHTNING_PREFECT_SYNC="true", LIGHTNING_NODE_POOL_SIZE="2"
    ) as env:
        yield env, env["LIGHTNING_DATABASE_URL"]


def _send(url: str, path: str, acknowledged: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            with lock:
                if sent[0] >= TOTAL:
                    return
                sent[0] += 1
                n = sent[0]
            try:
                answer = http.post(path, json={"n": n})
            except httpx.HTTPError:
                continue  # not acknowledged: the client would retry
            if answer.status_code == 200:
                with lock:
                    acknowledged.append(answer.json()["run_id"])


lock = threading.Lock()
sent = [0]


def test_kill_9_under_load_then_restart_finishes_every_acknowledged_run(
    platform: tuple[dict[str, str], str],
) -> None:
    env, database_url = platform
    url = f"http://127.0.0.1:{env['LIGHTNING_PORT']}"
    engine = create_engine(database_url)
    acknowledged: list[str] = []
    sent[0] = 0
    with process([*CLI, "up"], env) as up:
        wait_healthy(url, timeout=180, proc=up)
        with Session(engine, expire_on_commit=False) as session:
            project = factories.make_project(session, owner=factories.make_user(session))
            wf = factories.make_workflow(session, project, jobs={"a": STEP, "b": STEP})
        stop = threading.Event()
        senders = [
            threading.Thread(
                target=_send, args=(url, f"/i/{wf.triggers[0].id}", acknowledged, stop)
            )
            for _ in range(CONCURRENCY)
        ]
        for thread in senders:
            thread.start()
        while len(acknowledged) < KILL_AFTER and any(t.is_alive() for t in senders):
            time.sleep(0.01)
        tree = [up.pid, *descendants(up.pid)]
        for pid in tree:  # the whole platform at once: API, worker, Prefect server, Node
            with_suppressed_kill(pid)
        for thread in senders:
            thread.join(timeout=60)
        stop.set()
    assert KILL_AFTER <= len(acknowledged) < TOTAL, len(acknowledged)

    with process([*CLI, "up"], env) as again:
        wait_healthy(url, timeout=180, proc=again)
        restarted = time.monotonic()
        ids = [uuid.UUID(r) for r in acknowledged]
        with Session(engine) as session:
            while time.monotonic() - restarted < 90:
                states = dict(
                    session.exec(select(Run.id, Run.state).where(col(Run.id).in_(ids))).all()
                )
                if len(states) == len(ids) and set(states.values()) == {"success"}:
                    break
                session.rollback()
                time.sleep(0.5)
            took = time.monotonic() - restarted
            assert len(states) == len(ids), "every acknowledged run was stored"
            unfinished = {k: v for k, v in states.items() if v != "success"}
            assert not unfinished, f"{len(unfinished)} not finished after {took:.0f}s"
            twice = session.exec(
                select(Step.run_id, Step.job_id, func.count())
                .where(col(Step.run_id).in_(ids), Step.exit_reason == "success")
                .group_by(Step.run_id, Step.job_id)
                .having(func.count() > 1)
            ).all()
            assert twice == [], "a job of a run succeeded twice"
    engine.dispose()


def with_suppressed_kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
