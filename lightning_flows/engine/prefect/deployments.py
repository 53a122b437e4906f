"""Each workflow has its own Prefect deployment of the engine flow.

Created or updated after every committed save (`deployment_publisher`, in the
background), paused while the workflow has no enabled trigger, removed when it
is deleted: Prefect's deployments page lists the platform's workflows and
groups their runs. Deployments live on the work pool `prefect_work_pool`.

Prefect is never called with a platform transaction open: what a deployment
needs is read in one short session, Prefect is called, and the deployment id is
stored in another. Everything here is idempotent (`create_deployment` is an
upsert by flow and name), so it can be retried, and repeated after Prefect lost
its database: the dispatcher calls `ensure_deployment` when Prefect answers 404.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field

from httpx import HTTPStatusError
from prefect.client.schemas.actions import DeploymentScheduleCreate, WorkPoolCreate
from prefect.client.schemas.schedules import CronSchedule
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from sqlalchemy import update
from sqlmodel import col, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.engine.prefect.client import prefect_client
from lightning_flows.engine.prefect.flow import ENTRYPOINT, FLOW_NAME
from lightning_flows.projects.models import Project
from lightning_flows.workflows.models import Trigger, TriggerType, Workflow

log = logging.getLogger(__name__)

_lock = threading.Lock()
_flow_id: uuid.UUID | None = None
_work_pools: set[str] = set()


def engine_flow_id(*, refresh: bool = False) -> uuid.UUID:
    """The engine flow's id in Prefect (cached; `refresh` after Prefect lost its database)."""
    global _flow_id
    with _lock:
        flow_id = None if refresh else _flow_id
    if flow_id is None:
        flow_id = prefect_client().create_flow_from_name(FLOW_NAME)  # an upsert by name
        with _lock:
            _flow_id = flow_id
    return flow_id


def work_pool_name() -> str:
    return str(getattr(get_settings(), "prefect_work_pool", "lightning-flows"))


def ensure_work_pool(name: str, *, refresh: bool = False) -> None:
    """Create the deployments' work pool (type `process`) unless it exists."""
    with _lock:
        if name in _work_pools and not refresh:
            return
    from prefect.workers.process import ProcessWorker

    pool = WorkPoolCreate(
        name=name,
        type="process",
        description="Lightning Flows workflows (created by the platform).",
        base_job_template=ProcessWorker.get_default_base_job_template(),
    )
    with contextlib.suppress(ObjectAlreadyExists):
        prefect_client().create_work_pool(pool)
    with _lock:
        _work_pools.add(name)


def forget_prefect_ids() -> None:
    """Drop the cached flow id and work pools (Prefect's database was reset)."""
    global _flow_id
    with _lock:
        _flow_id = None
        _work_pools.clear()


def deployment_name(project_name: str, workflow_name: str) -> str:
    """`project :: workflow`, without the characters Prefect refuses in names."""
    return re.sub(r"[/%&><]", "-", f"{project_name} :: {workflow_name}")[:255]


@dataclass(frozen=True)
class DeploymentSpec:
    """What Prefect needs to know of a workflow, read in one short session."""

    workflow_id: uuid.UUID
    lock_version: int
    deleted: bool
    stored_id: uuid.UUID | None
    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    paused: bool = True
    schedules: list[DeploymentScheduleCreate] = field(default_factory=list)


def read_spec(workflow_id: uuid.UUID) -> DeploymentSpec | None:
    """The workflow's deployment as it should be now (None: no such workflow)."""
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None:
            return None
        project = session.get(Project, workflow.project_id)
        if project is None:
            return None
        triggers = session.exec(select(Trigger).where(Trigger.workflow_id == workflow.id)).all()
        return DeploymentSpec(
            workflow_id=workflow.id,
            lock_version=workflow.lock_version,
            deleted=workflow.deleted_at is not None,
            stored_id=workflow.prefect_deployment_id,
            name=deployment_name(project.name, workflow.name),
            description=f"Workflow '{workflow.name}' of project '{project.name}'.",
            tags=[f"project:{project.id}", f"workflow:{workflow.id}"],
            paused=workflow.deleted_at is not None or not any(t.enabled for t in triggers),
            schedules=[
                DeploymentScheduleCreate(
                    schedule=CronSchedule(cron=t.cron_expression, timezone=t.cron_timezone),
                    active=t.enabled and workflow.deleted_at is None,
                    parameters={"trigger_id": str(t.id)},
                    slug=f"trigger-{t.id}",
                )
                for t in triggers
                if t.type == TriggerType.CRON.value and t.cron_expression
            ],
        )


def upsert_deployment(spec: DeploymentSpec, *, refresh: bool = False) -> uuid.UUID:
    """Create or update the deployment in Prefect (no database session is open).

    A 404/409/422 may mean Prefect lost the engine flow or the work pool (a reset
    database): the cached ids are refreshed and the call is made once more."""
    try:
        return _create_deployment(spec, refresh=refresh)
    except (ObjectNotFound, ObjectAlreadyExists, HTTPStatusError) as exc:
        if refresh or not _maybe_stale_ids(exc):
            raise
        log.info("Prefect lost the engine flow or work pool; creating them again")
        return _create_deployment(spec, refresh=True)


def _maybe_stale_ids(exc: Exception) -> bool:
    if isinstance(exc, ObjectNotFound | ObjectAlreadyExists):
        return True
    return isinstance(exc, HTTPStatusError) and exc.response.status_code in (404, 409, 422)


def _create_deployment(spec: DeploymentSpec, *, refresh: bool) -> uuid.UUID:
    if refresh:
        forget_prefect_ids()
    pool = work_pool_name()
    ensure_work_pool(pool)
    return prefect_client().create_deployment(
        flow_id=engine_flow_id(),
        name=spec.name,
        parameters={"workflow_id": str(spec.workflow_id)},
        tags=spec.tags,
        description=spec.description,
        entrypoint=ENTRYPOINT,
        work_pool_name=pool,
        paused=spec.paused,
        schedules=spec.schedules,
        enforce_parameter_schema=False,
    )


def delete_deployment(deployment_id: uuid.UUID | None) -> None:
    """Delete a deployment from Prefect; one that is already gone is fine."""
    if deployment_id is None:
        return
    with contextlib.suppress(ObjectNotFound):
        prefect_client().delete_deployment(deployment_id)


def store_deployment_id(spec: DeploymentSpec, deployment_id: uuid.UUID | None) -> None:
    """Record the workflow's deployment id (a short transaction of its own), unless the
    workflow was saved since `spec` was read: that save's own publish stores its id."""
    with session_scope() as session:
        session.connection().execute(
            update(Workflow)
            .where(
                col(Workflow.id) == spec.workflow_id,
                col(Workflow.lock_version) == spec.lock_version,
            )
            .values(prefect_deployment_id=deployment_id)
        )


def publish_deployment(workflow_id: uuid.UUID) -> uuid.UUID | None:
    """Make the workflow's deployment match the workflow; its id (None once deleted).

    Idempotent; raises when Prefect cannot be reached (the publisher retries)."""
    spec = read_spec(workflow_id)
    if spec is None:
        return None
    if spec.deleted:
        delete_deployment(spec.stored_id)
        if spec.stored_id is not None:
            store_deployment_id(spec, None)
        return None
    return _publish(spec, refresh=False)


def ensure_deployment(workflow_id: uuid.UUID, *, refresh: bool = False) -> uuid.UUID | None:
    """A deployment the workflow's runs can be created on, made again if Prefect lost it
    (for the dispatcher). A deleted workflow's remaining runs still get one, paused.

    `refresh`: Prefect said the stored deployment does not exist, so its flow and work
    pool may be gone too. None only when the workflow does not exist."""
    spec = read_spec(workflow_id)
    if spec is None:
        return None
    return _publish(spec, refresh=refresh)


def _publish(spec: DeploymentSpec, *, refresh: bool) -> uuid.UUID:
    deployment_id = upsert_deployment(spec, refresh=refresh)
    if spec.stored_id != deployment_id:
        if spec.stored_id is not None:
            delete_deployment(spec.stored_id)  # renamed: the old name goes
        store_deployment_id(spec, deployment_id)
    return deployment_id


sync_deployment = publish_deployment
"""The former name, kept for scripts and tests that publish synchronously."""


def enable_deployment_sync() -> None:
    """Publish deployments after every committed workflow change, in the background, and
    once for every workflow now (Prefect may have lost them while the platform was down)."""
    from lightning_flows.engine.prefect import deployment_publisher

    deployment_publisher.enable(reconcile=True)
