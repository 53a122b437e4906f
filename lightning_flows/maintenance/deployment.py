"""The maintenance flows' Prefect deployments, and how a worker runs their flow runs.

The retention and digest deployments are created (or updated) when a worker starts:
scheduled by `LIGHTNING_RETENTION_SCHEDULE` and `LIGHTNING_DIGEST_SCHEDULE` on the
platform's work pool, so the Prefect UI lists them with their runs and logs and can
run them by hand. A worker that finds one of their flow runs due takes it (Pending
first: one worker wins) and runs it with Prefect's own flow engine, in the worker's
process.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.schedules import CronSchedule
from prefect.flow_engine import run_flow
from prefect.states import Pending

from lightning_flows.core.config import get_settings
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.deployments import ensure_work_pool, work_pool_name
from lightning_flows.maintenance.flow import (
    DIGEST_ENTRYPOINT,
    ENTRYPOINT,
    apply_retention,
    send_digest_mails,
)

log = logging.getLogger(__name__)
DEPLOYMENT_NAME = "retention"
REFRESH_SECONDS = 600.0


@dataclass(frozen=True)
class MaintenanceFlow:
    deployment: str
    flow: Any  # a prefect Flow
    entrypoint: str
    schedule: Callable[[], str]
    description: str


FLOWS = (
    MaintenanceFlow(
        DEPLOYMENT_NAME,
        apply_retention,
        ENTRYPOINT,
        lambda: get_settings().retention_schedule,
        "Deletes history and wipes dataclip bodies past each project's "
        "retention periods (Lightning Flows maintenance).",
    ),
    MaintenanceFlow(
        "digests",
        send_digest_mails,
        DIGEST_ENTRYPOINT,
        lambda: get_settings().digest_schedule,
        "Mails the members' daily, weekly and monthly project digests: runs, failures "
        "and top errors (Lightning Flows maintenance).",
    ),
)
_flow_ids: dict[str, uuid.UUID] = {}


def flow_id(maintenance: MaintenanceFlow) -> uuid.UUID:
    if maintenance.deployment not in _flow_ids:
        _flow_ids[maintenance.deployment] = prefect_client().create_flow_from_name(
            maintenance.flow.name
        )
    return _flow_ids[maintenance.deployment]


def retention_flow_id() -> uuid.UUID:
    return flow_id(FLOWS[0])


def ensure_deployment(maintenance: MaintenanceFlow) -> uuid.UUID:
    """Create or update one maintenance deployment; returns its id."""
    return prefect_client().create_deployment(
        flow_id=flow_id(maintenance),
        name=maintenance.deployment,
        entrypoint=maintenance.entrypoint,
        description=maintenance.description,
        tags=["lightning-flows", "maintenance"],
        parameters={},
        schedules=[
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=maintenance.schedule(), timezone="UTC"),
                active=True,
                slug=maintenance.deployment,
            )
        ],
        work_pool_name=_pool(),
        enforce_parameter_schema=False,
    )


def ensure_maintenance_deployment() -> uuid.UUID:
    """Create or update the retention deployment; returns its id."""
    return ensure_deployment(FLOWS[0])


def ensure_digest_deployment() -> uuid.UUID:
    """Create or update the digest deployment; returns its id."""
    return ensure_deployment(FLOWS[1])


def maintenance_of(flow_run: FlowRun) -> MaintenanceFlow | None:
    """The maintenance flow a flow run belongs to (flow ids asked of Prefect once, even
    if the worker could not create the deployments when it started), or None."""
    for maintenance in FLOWS:
        try:
            if flow_run.flow_id == flow_id(maintenance):
                return maintenance
        except Exception:
            return None
    return None


def is_maintenance(flow_run: FlowRun) -> bool:
    return maintenance_of(flow_run) is not None


def run_maintenance_flow_run(flow_run_id: uuid.UUID, maintenance: Any = None) -> None:
    """Take a due maintenance flow run and execute it here (Prefect's flow engine)."""
    client = prefect_client()
    if client.set_flow_run_state(flow_run_id, Pending()).status != SetStateStatus.ACCEPT:
        return  # another worker has it
    flow_run = client.read_flow_run(flow_run_id)
    flow = (maintenance or maintenance_of(flow_run) or FLOWS[0]).flow
    try:
        run_flow(flow, flow_run=flow_run, parameters={})
    except Exception:
        log.exception("maintenance flow run %s failed", flow_run_id)


def ensure_quietly() -> bool:
    """Every maintenance deployment, for a worker: Prefect may be down."""
    try:
        for maintenance in FLOWS:
            ensure_deployment(maintenance)
    except Exception:
        log.warning("could not create the maintenance deployments; trying again later")
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
    maintenance = maintenance_of(flow_run)
    if maintenance is None:
        return False
    threading.Thread(
        target=run_maintenance_flow_run,
        args=(flow_run.id, maintenance),
        name=f"maintenance-{flow_run.id}",
        daemon=True,
    ).start()
    return True


def _pool() -> str:
    name = work_pool_name()
    ensure_work_pool(name)
    return name
