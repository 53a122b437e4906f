"""The platform's maintenance flows: `lightning-flows-retention` applies every project's
retention, `lightning-flows-digests` sends the members' daily/weekly/monthly digests.

Their deployments (maintenance/deployment.py) run them on schedules on the platform's
work pool; the Prefect UI shows their runs and logs and can start them by hand.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, get_run_logger

import lightning_flows.models  # noqa: F401  (every table registered)
from lightning_flows.maintenance.retention import (
    Purged,
    apply_project_retention,
    projects_with_retention,
)
from lightning_flows.notifications.digest import send_digests

RETENTION_FLOW = "lightning-flows-retention"
ENTRYPOINT = "lightning_flows.maintenance.flow:apply_retention"  # importable anywhere
DIGEST_FLOW = "lightning-flows-digests"
DIGEST_ENTRYPOINT = "lightning_flows.maintenance.flow:send_digest_mails"


@flow(name=RETENTION_FLOW, persist_result=False, validate_parameters=False, log_prints=False)
def apply_retention() -> dict[str, Any]:
    """Delete history and wipe dataclip bodies that every project's retention says are due."""
    logger = get_run_logger()
    total = Purged()
    projects = projects_with_retention()
    for project_id in projects:
        done = apply_project_retention(project_id)
        if any(asdict(done).values()):
            logger.info(
                "Project %s: %d work orders (%d runs, %d Prefect flow runs) deleted, "
                "%d dataclips deleted, %d dataclip bodies wiped",
                project_id,
                done.work_orders,
                done.runs,
                done.prefect_flow_runs,
                done.dataclips_deleted,
                done.dataclips_wiped,
            )
        total.add(done)
    logger.info("Retention applied to %d project(s): %s", len(projects), asdict(total))
    return asdict(total)


@flow(name=DIGEST_FLOW, persist_result=False, validate_parameters=False, log_prints=False)
def send_digest_mails() -> dict[str, Any]:
    """Mail every digest whose day, week or month is over and not sent yet."""
    sent = send_digests()
    get_run_logger().info("Digests sent: %d", sent)
    return {"sent": sent}
