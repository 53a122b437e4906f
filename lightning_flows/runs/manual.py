"""Runs started by a person: a manual run with a chosen input, or a retry from a step."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlmodel import Session

from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.limits import service as limits
from lightning_flows.runs.models import Dataclip, DataclipType, Run, Step, WorkOrder
from lightning_flows.runs.rows import Priority
from lightning_flows.runs.service import Enqueued, add_run, create_work_order
from lightning_flows.runs.states import RunState
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot


def default_start(snapshot: WorkflowSnapshot) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(trigger_id, job_id) a run starts from when none is chosen."""
    doc = snapshot.document
    triggers = [t for t in doc["triggers"] if t.get("enabled", True)] or doc["triggers"]
    if triggers:
        return uuid.UUID(triggers[0]["id"]), None
    targets = {e["target_job_id"] for e in doc["edges"]}
    roots = [j for j in doc["jobs"] if j["id"] not in targets]
    if not roots:
        raise InvalidInput("This workflow has no trigger and no job to start from.")
    return None, uuid.UUID(roots[0]["id"])


def enqueue_manual(
    session: Session,
    workflow: Workflow,
    *,
    body: Any = None,
    dataclip_id: uuid.UUID | None = None,
    start_job_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Enqueued:
    """A run of the workflow's latest version with a custom input or a saved dataclip."""
    if (body is None) == (dataclip_id is None):
        raise InvalidInput("Give either a 'body' or a 'dataclip_id' as the run's input.")
    snapshot = workflows.latest_snapshot(session, workflow.id)
    trigger_id, job_id = (None, start_job_id) if start_job_id else default_start(snapshot)
    clip = _usable_dataclip(session, dataclip_id, workflow.project_id) if dataclip_id else None
    with limits.slot(workflow.project_id):  # refused past the monthly limit
        return _create(session, workflow, snapshot, body, clip, trigger_id, job_id, user_id)


def _create(
    session: Session,
    workflow: Workflow,
    snapshot: WorkflowSnapshot,
    body: Any,
    clip: Dataclip | None,
    trigger_id: uuid.UUID | None,
    job_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
) -> Enqueued:
    if clip is not None:
        return create_work_order(
            session,
            workflow=workflow,
            snapshot=snapshot,
            body=None,
            dataclip_type=DataclipType.SAVED_INPUT,
            trigger_id=trigger_id,
            start_job_id=job_id,
            created_by_id=user_id,
            priority=Priority.IMMEDIATE,
            existing_dataclip=clip,
        )
    return create_work_order(
        session,
        workflow=workflow,
        snapshot=snapshot,
        body=body,
        dataclip_type=DataclipType.SAVED_INPUT,
        trigger_id=trigger_id,
        start_job_id=job_id,
        created_by_id=user_id,
        priority=Priority.IMMEDIATE,
    )


RetryVersion = Literal["latest", "original"]


def retry_from_step(
    session: Session,
    run_id: uuid.UUID,
    step_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    version: RetryVersion = "latest",
) -> Run:
    """A new run on the same work order, from the step's job, with the step's saved input.

    It runs the workflow's latest version, as Lightning does (a person retries because
    they fixed something); `version="original"` replays the run's own snapshot.
    """
    original = session.get(Run, run_id)
    step = session.get(Step, step_id)
    if original is None:
        raise NotFound("Run not found.")
    if step is None or step.run_id != original.id:
        raise NotFound("That step is not part of this run.")
    if not original.is_final:
        raise InvalidInput("Wait for the run to finish before retrying it.")
    work_order = session.get(WorkOrder, original.work_order_id)
    assert work_order is not None  # noqa: S101
    _usable_dataclip(session, step.input_dataclip_id, work_order.project_id)
    snapshot_id = original.snapshot_id
    if version == "latest":
        snapshot = workflows.latest_snapshot(session, work_order.workflow_id)
        if str(step.job_id) not in {j["id"] for j in snapshot.document["jobs"]}:
            raise InvalidInput(
                f"That step's job is not in the latest version (v{snapshot.lock_version}) of "
                'the workflow: retry from another step, or replay it with "version": "original".'
            )
        snapshot_id = snapshot.id
    with limits.slot(work_order.project_id):  # refused past the monthly limit
        run = add_run(
            session,
            work_order_id=work_order.id,
            snapshot_id=snapshot_id,
            job_id=step.job_id,
            dataclip_id=step.input_dataclip_id,
            created_by_id=user_id,
            priority=Priority.IMMEDIATE,
        )
        session.commit()
    return run


def _usable_dataclip(
    session: Session, dataclip_id: uuid.UUID | None, project_id: uuid.UUID
) -> Dataclip:
    clip = session.get(Dataclip, dataclip_id) if dataclip_id else None
    if clip is None or clip.project_id != project_id:
        raise InvalidInput("That input dataclip does not exist in this project.")
    if clip.wiped_at is not None:
        raise InvalidInput(
            "That input was wiped by the project's data retention policy; "
            "start a new run with a custom input instead."
        )
    return clip


__all__ = ["RunState", "default_start", "enqueue_manual", "retry_from_step"]
