"""Each workflow has its own Prefect deployment of the engine flow.

Created or updated whenever the workflow is saved, paused while it has no
enabled trigger, removed when it is deleted: Prefect's deployments page lists
the platform's workflows and groups their runs.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid

from prefect.client.schemas.actions import DeploymentScheduleCreate, WorkPoolCreate
from prefect.client.schemas.schedules import CronSchedule
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from sqlmodel import select

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.engine.flow import ENTRYPOINT, FLOW_NAME
from lightning_flows.engine.prefect_api import prefect_client
from lightning_flows.projects.models import Project
from lightning_flows.workflows.events import WorkflowChanged
from lightning_flows.workflows.models import Trigger, TriggerType, Workflow

log = logging.getLogger(__name__)
_flow_id: uuid.UUID | None = None
_pools: set[str] = set()
_POOL_DESCRIPTION = "Lightning Flows workers execute the runs of every workflow's deployment."


def engine_flow_id() -> uuid.UUID:
    global _flow_id
    if _flow_id is None:
        _flow_id = prefect_client().create_flow_from_name(FLOW_NAME)
    return _flow_id


def work_pool_name() -> str:
    return get_settings().prefect_work_pool


def ensure_work_pool(name: str | None = None, *, refresh: bool = False) -> str:
    """Create the platform's work pool in Prefect once (again after `refresh`)."""
    name = name or work_pool_name()
    if refresh:
        _pools.discard(name)
    if name not in _pools:
        with contextlib.suppress(ObjectAlreadyExists):
            prefect_client().create_work_pool(
                WorkPoolCreate(name=name, type="lightning-flows", description=_POOL_DESCRIPTION)
            )
        _pools.add(name)
    return name


def ensure_deployment(workflow_id: uuid.UUID) -> uuid.UUID | None:
    """The workflow's deployment, created or updated (see `sync_deployment`)."""
    return sync_deployment(workflow_id)


def deployment_name(project_name: str, workflow_name: str) -> str:
    """`project :: workflow`, without the characters Prefect refuses in names."""
    return re.sub(r"[/%&><]", "-", f"{project_name} :: {workflow_name}")[:255]


def sync_deployment(workflow_id: uuid.UUID) -> uuid.UUID | None:
    """Make the workflow's deployment match it; returns the deployment id (None if deleted)."""
    client = prefect_client()
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None:
            return None
        if workflow.deleted_at is not None:
            _delete(workflow.prefect_deployment_id)
            workflow.prefect_deployment_id = None
            session.add(workflow)
            return None
        project = session.get(Project, workflow.project_id)
        assert project is not None  # noqa: S101
        triggers = session.exec(select(Trigger).where(Trigger.workflow_id == workflow.id)).all()
        enabled = any(t.enabled for t in triggers)
        schedules = [
            DeploymentScheduleCreate(
                schedule=CronSchedule(cron=t.cron_expression, timezone=t.cron_timezone),
                active=t.enabled,
                parameters={"trigger_id": str(t.id)},
                slug=f"trigger-{t.id}",
            )
            for t in triggers
            if t.type == TriggerType.CRON.value and t.cron_expression
        ]
        deployment_id = client.create_deployment(
            flow_id=engine_flow_id(),
            name=deployment_name(project.name, workflow.name),
            parameters={"workflow_id": str(workflow.id)},
            tags=[f"project:{project.id}", f"workflow:{workflow.id}"],
            description=f"Workflow '{workflow.name}' of project '{project.name}'.",
            entrypoint=ENTRYPOINT,
            paused=not enabled,
            schedules=schedules,
            enforce_parameter_schema=False,
            work_pool_name=ensure_work_pool(),
        )
        if workflow.prefect_deployment_id not in (None, deployment_id):
            _delete(workflow.prefect_deployment_id)  # renamed: the old name goes
        workflow.prefect_deployment_id = deployment_id
        session.add(workflow)
        return deployment_id


def _delete(deployment_id: uuid.UUID | None) -> None:
    if deployment_id is None:
        return
    with contextlib.suppress(ObjectNotFound):
        prefect_client().delete_deployment(deployment_id)


def on_workflow_changed(event: WorkflowChanged) -> None:
    """Subscriber for `lightning_flows.workflows.events` (see `enable_deployment_sync`)."""
    sync_deployment(event.workflow_id)


def enable_deployment_sync() -> None:
    from lightning_flows.workflows import events

    events.subscribe(on_workflow_changed)
