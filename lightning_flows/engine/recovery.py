"""Nothing acknowledged is dropped: runs whose worker died are marked `lost`.

A run claimed or started longer ago than the max run duration plus grace is
lost; its Prefect flow run is marked Crashed, and if its workflow opts in
(`retry_lost_runs`) a new run of the same work order starts from the same input.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from prefect.states import Crashed

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine.prefect_api import prefect_client
from lightning_flows.runs import service as runs
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.queue import lost_runs
from lightning_flows.runs.states import RunState
from lightning_flows.workflows.models import Workflow

log = logging.getLogger(__name__)


def sweep_lost_runs() -> list[uuid.UUID]:
    """Mark every overdue run lost (retrying where opted in); returns their ids."""
    settings = get_settings()
    cutoff = utcnow() - timedelta(
        seconds=settings.max_run_duration_seconds + settings.lost_run_grace_seconds
    )
    swept: list[uuid.UUID] = []
    with session_scope() as session:
        for run in lost_runs(session, cutoff):
            flow_run_id = run.prefect_flow_run_id
            runs.set_run_state(session, run, RunState.LOST, error_type="LostError")
            swept.append(run.id)
            log.warning("run %s was lost (no result within the max run duration)", run.id)
            _mark_flow_run_crashed(flow_run_id)
            work_order = session.get(WorkOrder, run.work_order_id)
            workflow = session.get(Workflow, work_order.workflow_id) if work_order else None
            if workflow is not None and workflow.retry_lost_runs:
                session.add(
                    Run(
                        work_order_id=run.work_order_id,
                        snapshot_id=run.snapshot_id,
                        starting_job_id=run.starting_job_id,
                        starting_trigger_id=run.starting_trigger_id,
                        dataclip_id=run.dataclip_id,
                        priority=run.priority,
                    )
                )
                session.commit()
    return swept


def _mark_flow_run_crashed(flow_run_id: uuid.UUID | None) -> None:
    if flow_run_id is None:
        return
    try:
        prefect_client().set_flow_run_state(
            flow_run_id, Crashed(message="The worker executing this run was lost."), force=True
        )
    except Exception:  # Prefect may be down too; the run row is what users search
        log.warning("could not mark flow run %s crashed", flow_run_id, exc_info=True)
