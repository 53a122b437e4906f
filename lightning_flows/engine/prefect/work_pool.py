"""Our workers as Prefect sees them: workers of the workflows' work pool.

Each worker sends Prefect's worker heartbeat for the pool, so the Prefect UI's
work-pools page lists it, and asks the pool for its scheduled flow runs (schedules,
the UI's "Run" and "Retry"), which is also what keeps the pool's deployments
`Ready` in Prefect (a deployment is Ready while a worker polls its work queue).
"""

from __future__ import annotations

import logging

from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound

from lightning_flows.core.timeutil import utcnow
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import ensure_work_pool, work_pool_name

log = logging.getLogger(__name__)


def send_heartbeat(worker_name: str, interval_seconds: float) -> None:
    """Tell Prefect this worker polls the pool (creating the pool if Prefect lost it)."""
    pool = work_pool_name()
    seconds = max(1, round(interval_seconds))  # Prefect takes whole seconds
    try:
        prefect_client().send_worker_heartbeat(
            pool, worker_name, heartbeat_interval_seconds=seconds
        )
    except ObjectNotFound:
        ensure_work_pool(pool, refresh=True)
        prefect_client().send_worker_heartbeat(
            pool, worker_name, heartbeat_interval_seconds=seconds
        )


def due_flow_runs(limit: int) -> list[FlowRun]:
    """Scheduled flow runs of the pool's deployments that are due now, oldest first."""
    pool = work_pool_name()
    try:
        responses = prefect_client().get_scheduled_flow_runs_for_work_pool(
            pool, scheduled_before=utcnow()
        )
    except ObjectNotFound:
        ensure_work_pool(pool, refresh=True)
        return []
    return [r.flow_run for r in responses][:limit]


def remove_worker(worker_name: str) -> None:
    """A worker that stopped cleanly leaves the pool at once (best effort)."""
    try:
        prefect_client().request(
            "DELETE",
            "/work_pools/{work_pool_name}/workers/{name}",  # type: ignore[arg-type]
            path_params={"work_pool_name": work_pool_name(), "name": worker_name},
        )
    except Exception:
        log.debug("could not remove worker %s from the pool", worker_name, exc_info=True)
