"""The maintenance flows' Prefect deployments, and how a worker runs their flow runs.

The retention deployment is created (or updated) when a worker starts: scheduled
by `LIGHTNING_RETENTION_SCHEDULE` on the platform's work pool, so the Prefect UI
lists it with its runs and logs and can run it by hand. A worker that finds one of
its flow runs due takes it (Pending first: one worker wins) and runs it with
Prefect's own flow engine, in the worker's process.
"""

from __future__ import annotations

import logging
import threading
import uuid

from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.schedules import CronSchedule
from prefect.flow_engine import run_flow
from prefect.states import Pending

from lightning_flows.core.config import get_settings
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import ensure_work_pool, work_pool_name
from lightning_flows.maintenance.flow import ENTRYPOINT, RETENTION_FLOW, apply_retention

log = logging.getLogger(__name__)
DEPLOYMENT_NAME = "retention"
REFRESH_SECONDS = 600.0
_flow_id: uuid.UUID | None = None


def retention_flow_id() -> uuid.UUID:
    global _flow_id
    if _flow_id is None:
        _flow_id = prefect_client().create_flow_from_name(RETENTION_FLOW)
    return _flow_id


def ensure_maintenance_deployment() -> uuid.UUID:
    """Create or update the retention deployment; returns its id."""
    return prefect_client().create_deployment(
        flow_id=retention_flow_id(),
        name=DEPLOYMENT_NAME,
        entrypoint=ENTRYPOINT,
        description="Deletes history and wipes dataclip bodies past each project's "
        "retention periods (Lightning Flows maintenance).",
        tags=["lightning-flows", "maintenance"],
        parameters={},
        schedules=[
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=get_settings().retention_schedule, timezone="UTC"),
                active=True,
                slug="retention",
            )
        ],
        work_pool_name=_pool(),
        enforce_parameter_schema=False,
    )


def is_maintenance(flow_run: FlowRun) -> bool:
    """A flow run of the retention flow (asked of Prefect once, even if the worker could
    not create the deployment when it started)."""
    try:
        return flow_run.flow_id == retention_flow_id()
    except Exception:
        return False


def run_maintenance_flow_run(flow_run_id: uuid.UUID) -> None:
    """Take a due maintenance flow run and execute it here (Prefect's flow engine)."""
    client = prefect_client()
    if client.set_flow_run_state(flow_run_id, Pending()).status != SetStateStatus.ACCEPT:
        return  # another worker has it
    flow_run = client.read_flow_run(flow_run_id)
    try:
        run_flow(apply_retention, flow_run=flow_run, parameters={})
    except Exception:
        log.exception("maintenance flow run %s failed", flow_run_id)


def ensure_quietly() -> bool:
    """`ensure_maintenance_deployment`, for a worker: Prefect may be down."""
    try:
        ensure_maintenance_deployment()
    except Exception:
        log.warning("could not create the maintenance deployment; trying again later")
        return False
    return True


def keep_deployed(stopping: threading.Event, interval: float = REFRESH_SECONDS) -> None:
    """Create the deployment now and again every `interval` (a reset Prefect gets it back;
    a failed attempt is retried after a minute) until `stopping` is set."""
    while True:
        wait = interval if ensure_quietly() else min(interval, 60.0)
        if stopping.wait(wait):
            return


def start_if_maintenance(flow_run: FlowRun) -> bool:
    """Run a due maintenance flow run on its own thread; False for a workflow's."""
    if not is_maintenance(flow_run):
        return False
    threading.Thread(
        target=run_maintenance_flow_run,
        args=(flow_run.id,),
        name=f"maintenance-{flow_run.id}",
        daemon=True,
    ).start()
    return True


def _pool() -> str:
    name = work_pool_name()
    ensure_work_pool(name)
    return name
