"""An idle worker wakes when runs are created (PostgreSQL LISTEN/NOTIFY), not at its next poll."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session

from lightning_flows.core.db import get_engine
from lightning_flows.engine.wakeup import RunSignal
from tests import factories


def _postgres_only() -> None:
    if get_engine().url.get_backend_name() != "postgresql":
        pytest.skip("LISTEN/NOTIFY exists on PostgreSQL only; SQLite workers poll")


def test_creating_a_run_wakes_a_waiting_worker(session: Session, project) -> None:
    _postgres_only()
    wf = factories.make_workflow(session, project, jobs={"only": "fn(s => s);"})
    signal = RunSignal()
    try:
        signal.wait(0.01)  # connect and LISTEN before the run is created
        timer = threading.Timer(0.3, lambda: factories.make_run(session, wf, {"n": 1}))
        started = time.monotonic()
        timer.start()
        signal.wait(30)
        woke_after = time.monotonic() - started
        timer.join()
    finally:
        signal.close()
    assert 0.25 < woke_after < 5, f"woke after {woke_after:.2f}s, not on the notification"


def test_stop_ends_the_wait_and_sqlite_falls_back_to_sleeping(database_url: str) -> None:
    signal = RunSignal()
    assert signal.listening == database_url.startswith("postgresql")
    signal.stop()
    started = time.monotonic()
    signal.wait(10)
    assert time.monotonic() - started < 1
    signal.close()
