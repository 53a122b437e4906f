"""Waiting for runs and reading what they recorded."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.runs.models import LogLine, Run, Step
from lightning_flows.runs.states import FINAL_RUN_STATES


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


def wait_for_task_run(task_run_id: uuid.UUID, timeout: float = 30) -> Any:
    """Prefect stores task runs from the engine's events a moment later: poll for one."""
    from prefect.exceptions import ObjectNotFound

    from lightning_flows.engine.prefect.client import prefect_client

    deadline = time.monotonic() + timeout
    while True:
        try:
            task_run = prefect_client().read_task_run(task_run_id)
            if task_run.state is not None and task_run.state.is_final():
                return task_run
        except ObjectNotFound:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"task run {task_run_id} did not reach Prefect in {timeout}s")
        time.sleep(0.1)
