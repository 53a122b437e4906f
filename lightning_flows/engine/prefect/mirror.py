"""Runs taken over or lost, as Prefect shows them: interrupted steps' task runs and lost
runs' flow runs end Crashed (a resumed run keeps its flow run Running: the worker that
resumes it finishes it)."""

from __future__ import annotations

import logging
import uuid

from prefect.states import Crashed

from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.runs.takeover import HandedBack

log = logging.getLogger(__name__)


def mirror_in_prefect(handed: HandedBack) -> None:
    """Interrupted steps' task runs and lost runs' flow runs end Crashed in Prefect (a
    resumed run keeps its flow run: the worker that resumes it finishes it)."""
    for task_run_id in handed.closed_task_runs:
        _crash("task", task_run_id, "The worker executing this step was lost.")
    for _, flow_run_id in handed.lost:
        if flow_run_id is not None:
            _crash("flow", flow_run_id, "The worker executing this run was lost.")


def _crash(kind: str, run_id: uuid.UUID, message: str) -> None:
    client = prefect_client()
    try:
        if kind == "task":
            client.set_task_run_state(run_id, Crashed(message=message), force=True)
        else:
            client.set_flow_run_state(run_id, Crashed(message=message), force=True)
    except Exception:  # Prefect may be down too; the run row is what users search
        log.warning("could not mark %s run %s crashed", kind, run_id, exc_info=True)
