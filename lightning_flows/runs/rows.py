"""The one row builder for work orders and runs: every way a run is created (webhook,
cron, manual, retry, takeover, lost-run retry) gets its defaults from here.

Builders return plain column dicts, so the intake's batch writer can insert them
with Core statements (or as arrays in one PostgreSQL statement) and the ORM paths
can build models from the same values.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import IntEnum
from typing import Any

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.states import RunState, WorkOrderState, work_order_state_for


class Priority(IntEnum):
    """Claim order: lower first. People waiting at a screen go before queued traffic."""

    IMMEDIATE = 0  # manual runs, retries, runs handed back mid-way
    NORMAL = 1  # webhooks, cron


def work_order_row(
    *,
    project_id: uuid.UUID,
    workflow_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    dataclip_id: uuid.UUID | None,
    trigger_id: uuid.UUID | None = None,
    run_state: RunState = RunState.AVAILABLE,
    work_order_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Columns of a new work order whose first run starts in `run_state`."""
    now = now or utcnow()
    return {
        "id": work_order_id or uuid.uuid4(),
        "project_id": project_id,
        "workflow_id": workflow_id,
        "trigger_id": trigger_id,
        "snapshot_id": snapshot_id,
        "dataclip_id": dataclip_id,
        "state": work_order_state_for(run_state).value,
        "last_activity": now,
        "inserted_at": now,
        "updated_at": now,
    }


def run_row(
    *,
    work_order_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    dataclip_id: uuid.UUID | None,
    trigger_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    priority: Priority = Priority.NORMAL,
    created_by_id: uuid.UUID | None = None,
    state: RunState = RunState.AVAILABLE,
    worker_name: str | None = None,
    prefect_flow_run_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Columns of a new run: `available` (or `claimed` for a flow run started in Prefect)."""
    if state not in (RunState.AVAILABLE, RunState.CLAIMED):
        raise ValueError(f"a new run is available or claimed, not {state}")
    now = now or utcnow()
    return {
        "id": run_id or uuid.uuid4(),
        "work_order_id": work_order_id,
        "snapshot_id": snapshot_id,
        "starting_trigger_id": trigger_id,
        "starting_job_id": job_id,
        "dataclip_id": dataclip_id,
        "state": state.value,
        "priority": int(priority),
        "created_by_id": created_by_id,
        "worker_name": worker_name,
        "prefect_flow_run_id": prefect_flow_run_id,
        "claimed_at": now if state == RunState.CLAIMED else None,
        "inserted_at": now,
    }


# What the PostgreSQL intake statement writes as constants (runs/intake_batch.py).
WEBHOOK_RUN_STATE = RunState.AVAILABLE
WEBHOOK_WORK_ORDER_STATE: WorkOrderState = work_order_state_for(WEBHOOK_RUN_STATE)
WEBHOOK_PRIORITY = Priority.NORMAL
