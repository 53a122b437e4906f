"""Engine fixtures: the session's Prefect server, a running worker, waiting for runs."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from lightning_flows.engine.worker import Worker
from lightning_flows.runs.models import LogLine, Run, Step
from lightning_flows.runs.states import FINAL_RUN_STATES


@pytest.fixture(scope="session", autouse=True)
def _close_node_pool() -> Iterator[None]:
    yield
    from lightning_flows.engine.runtime import close_pool

    close_pool()


@pytest.fixture
def worker(prefect_server: str) -> Iterator[Worker]:
    """A worker serving in a background thread for the test's duration."""
    w = Worker(concurrency=2, prefect_poll_interval=0.3)
    thread = threading.Thread(target=w.serve, daemon=True)
    thread.start()
    yield w
    w.stop()
    thread.join(timeout=60)


def wait_for_run(session: Session, run_id: uuid.UUID, timeout: float = 90) -> Run:
    """Poll until the run reaches a final state; `session` then sees fresh rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(Run, run_id)
        if run is not None and run.state in FINAL_RUN_STATES:
            return run
        session.rollback()
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish within {timeout}s")


def steps_of(session: Session, run_id: uuid.UUID) -> list[Step]:
    return list(
        session.exec(select(Step).where(Step.run_id == run_id).order_by(col(Step.started_at))).all()
    )


def logs_of(session: Session, run_id: uuid.UUID) -> list[LogLine]:
    return list(
        session.exec(
            select(LogLine).where(LogLine.run_id == run_id).order_by(col(LogLine.timestamp))
        ).all()
    )
