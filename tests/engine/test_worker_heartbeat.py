"""A worker whose Prefect server does not answer stays alive in the platform database: its
runs are not taken over while it still executes them."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session

from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine import worker as worker_module
from lightning_flows.engine.worker import Worker
from lightning_flows.runs.models import WorkerRecord


@pytest.mark.slow
def test_database_heartbeats_go_on_while_prefects_heartbeat_hangs(
    prefect_server: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = threading.Event()
    calls: list[float] = []

    def hanging(*_args: object, **_kwargs: object) -> None:  # Prefect restarting: no answer
        calls.append(time.monotonic())
        released.wait(30)

    monkeypatch.setattr(worker_module.prefect_worker, "send_heartbeat", hanging)
    w = Worker(concurrency=1, prefect_poll_interval=0.3)
    w.heartbeat_interval = 0.2
    thread = threading.Thread(target=w.serve, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls, "the worker tells Prefect it is alive"
        time.sleep(2)  # ten heartbeat intervals with Prefect's heartbeat stuck
        session.expire_all()
        row = session.get(WorkerRecord, w.name)
        assert row is not None
        assert utcnow() - row.last_heartbeat_at < timedelta(seconds=1)
        assert len(calls) == 1  # still stuck in the first one
    finally:
        released.set()
        w.stop()
        thread.join(timeout=60)
