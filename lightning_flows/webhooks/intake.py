"""Intake: the durability promise. One transaction writes the request dataclip, the
work order and its run (`available`); after it commits, the run will happen."""

from __future__ import annotations

import uuid
from typing import Any

from lightning_flows.core.db import get_engine
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Dataclip, DataclipType, Run, WorkOrder
from lightning_flows.runs.states import RunState, WorkOrderState
from lightning_flows.webhooks.lookup import WebhookTarget

_DATACLIPS = Dataclip.__table__  # type: ignore[attr-defined]
_WORK_ORDERS = WorkOrder.__table__  # type: ignore[attr-defined]
_RUNS = Run.__table__  # type: ignore[attr-defined]


def accept(
    target: WebhookTarget, body: Any, request: dict[str, Any]
) -> tuple[uuid.UUID, uuid.UUID]:
    """Store one webhook request; returns (work_order_id, run_id) once committed."""
    now = utcnow()
    dataclip_id, work_order_id, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with get_engine().begin() as conn:
        conn.execute(
            _DATACLIPS.insert().values(
                id=dataclip_id,
                project_id=target.project_id,
                type=DataclipType.HTTP_REQUEST.value,
                body=body,
                request=request,
                inserted_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            _WORK_ORDERS.insert().values(
                id=work_order_id,
                project_id=target.project_id,
                workflow_id=target.workflow_id,
                trigger_id=target.trigger_id,
                snapshot_id=target.snapshot_id,
                dataclip_id=dataclip_id,
                state=WorkOrderState.PENDING.value,
                last_activity=now,
                inserted_at=now,
                updated_at=now,
            )
        )
        conn.execute(
            _RUNS.insert().values(
                id=run_id,
                work_order_id=work_order_id,
                snapshot_id=target.snapshot_id,
                starting_trigger_id=target.trigger_id,
                dataclip_id=dataclip_id,
                state=RunState.AVAILABLE.value,
                priority=1,
                inserted_at=now,
            )
        )
    return work_order_id, run_id
