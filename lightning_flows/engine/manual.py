"""Runs that start outside intake: a flow run created in Prefect (its UI, a schedule)."""

from __future__ import annotations

import uuid

from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.runs import service as runs
from lightning_flows.runs.models import DataclipType
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow


def enqueue_from_prefect(workflow_id: uuid.UUID) -> uuid.UUID:
    """Create a work order and run of the workflow's latest snapshot, with an empty input."""
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        if workflow is None or workflow.deleted_at is not None:
            raise NotFound(f"Workflow {workflow_id} does not exist (or was deleted).")
        snapshot = workflows.latest_snapshot(session, workflow_id)
        triggers = [t for t in snapshot.document["triggers"] if t.get("enabled", True)]
        if not triggers:
            raise InvalidInput(f"Workflow '{workflow.name}' has no enabled trigger to start from.")
        enqueued = runs.create_work_order(
            session,
            workflow=workflow,
            snapshot=snapshot,
            body={},
            dataclip_type=DataclipType.GLOBAL,
            trigger_id=uuid.UUID(triggers[0]["id"]),
        )
        return enqueued.run.id
