"""Running a workflow document (saved or a draft) outside history, with the project's
credentials, on the process's Node pool: for "run this step" and test cases.

Nothing is recorded: no work order, run, dataclip or Prefect flow run. Credentials
are decrypted here, just before the steps, and every secret value is scrubbed from
the logs and errors returned (engine/local.py).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from lightning_flows.collections import tokens as collection_tokens
from lightning_flows.collections.usage import uses_collections
from lightning_flows.core.config import get_settings
from lightning_flows.core.errors import InvalidInput, NotFound
from lightning_flows.core.node_runtime import get_pool
from lightning_flows.credentials.models import ProjectCredential
from lightning_flows.credentials.usage import configuration_for
from lightning_flows.engine.context import initial_state
from lightning_flows.engine.execution_plan import ExecutionPlan, plan_from_snapshot
from lightning_flows.engine.local import LocalRun, LocalRunError, run_local
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip
from lightning_flows.workflows.graph import validate_document
from lightning_flows.workflows.schemas import EdgeDoc, JobDoc, TriggerDoc, WorkflowDocument


def draft_document(raw: dict[str, Any]) -> dict[str, Any]:
    """A builder's unsaved document, validated, as a snapshot-shaped dict (ids filled in)."""
    try:
        doc = WorkflowDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"document.{loc}: {first['msg']}") from exc
    items: list[JobDoc | TriggerDoc | EdgeDoc] = [*doc.jobs, *doc.triggers, *doc.edges]
    for item in items:
        item.id = item.id or uuid.uuid4()
    validate_document(doc)
    return doc.model_dump(mode="json")


def input_state(
    session: Session, project_id: uuid.UUID, dataclip_id: uuid.UUID | None, body: Any
) -> dict[str, Any]:
    """The input state from a dataclip of the project (404 otherwise) or a given body."""
    if (dataclip_id is None) == (body is None):
        raise InvalidInput("Give either a 'dataclip_id' or a 'body' as the input.")
    if dataclip_id is None:
        if not isinstance(body, dict):
            raise InvalidInput('body: the input state must be a JSON object, e.g. {"data": {}}.')
        return dict(body)
    clip = session.get(Dataclip, dataclip_id)
    if clip is None or clip.project_id != project_id:
        raise NotFound("Dataclip not found in this project.")
    if clip.wiped_at is not None:
        raise InvalidInput(
            "That input was wiped by the project's data retention policy: choose another."
        )
    return initial_state(clip)


def with_credentials(session: Session, project_id: uuid.UUID, plan: ExecutionPlan) -> ExecutionPlan:
    """The plan with each step's credential (shared with the project) as its configuration."""
    steps = {}
    for step_id, step in plan.steps.items():
        configuration = None
        if step.project_credential_id:
            link = session.get(ProjectCredential, uuid.UUID(step.project_credential_id))
            if link is None or link.project_id != project_id:
                raise InvalidInput(
                    f"Step '{step.name}': its credential is not shared with this project."
                )
            configuration = configuration_for(session, link.id)
        if uses_collections(step.body):  # as in runs: the project's collections, scrubbed
            configuration = {**(configuration or {}), **_collections_access(project_id)}
        steps[step_id] = dataclasses.replace(step, configuration=configuration)
    return dataclasses.replace(plan, steps=steps)


def _collections_access(project_id: uuid.UUID) -> dict[str, str]:
    ttl = collection_tokens.ttl_for_step(get_settings().step_timeout_seconds)
    return {
        "collections_endpoint": collection_tokens.endpoint(),
        "collections_token": collection_tokens.mint(project_id, uuid.uuid4(), ttl),
    }


def step_timeout(session: Session, project_id: uuid.UUID) -> float:
    """The project's step time limit, within the instance's."""
    project = session.get(Project, project_id)
    instance = float(get_settings().step_timeout_seconds)
    own = project.step_timeout_seconds if project else None
    return min(float(own), instance) if own else instance


def execute(
    session: Session,
    project_id: uuid.UUID,
    document: dict[str, Any],
    state: dict[str, Any],
    *,
    job_id: str | None = None,
    trigger_id: str | None = None,
    only_start: bool = False,
) -> LocalRun:
    """Run `document` from a job or trigger; `only_start` runs that one job alone."""
    plan = plan_from_snapshot(document, trigger_id=trigger_id, job_id=job_id)
    if only_start:
        plan = dataclasses.replace(
            plan, steps={plan.start: plan.steps[plan.start]}, edges=[], triggers=frozenset()
        )
    plan = with_credentials(session, project_id, plan)
    timeout = step_timeout(session, project_id)
    session.commit()  # end the read transaction: steps may take a while
    try:
        return run_local(plan, state, timeout_s=timeout, pool=get_pool())
    except LocalRunError as exc:
        raise InvalidInput(str(exc)) from exc


def log_lines(run: LocalRun) -> list[dict[str, Any]]:
    """The run's (scrubbed) log lines as JSON-ready dicts."""
    return [
        {
            "timestamp": entry.timestamp.isoformat(),
            "level": entry.level,
            "source": entry.source,
            "message": entry.message,
        }
        for entry in run.logs
    ]
