"""Run this step: one job alone on a chosen input, synchronously, nothing recorded.

The builder's "Run step" and `POST /api/workflows/{id}/jobs/{job_id}/run`: the
saved job of the latest version, or the editor's unsaved code for it, with the
project's credential, bounded by the step time limit.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlmodel import Session

from lightning_flows.core.errors import NotFound
from lightning_flows.testing.execution import execute, input_state, log_lines
from lightning_flows.testing.schemas import StepRunRequest, StepRunResult
from lightning_flows.workflows import service as workflows
from lightning_flows.workflows.models import Workflow


def _job(session: Session, workflow: Workflow, job_id: uuid.UUID, data: StepRunRequest) -> dict:
    saved = next(
        (
            j
            for j in workflows.latest_snapshot(session, workflow.id).document["jobs"]
            if j["id"] == str(job_id)
        ),
        None,
    )
    if data.job is None:
        if saved is None:
            raise NotFound("That step is not in the saved workflow: send its code as 'job'.")
        return dict(saved)
    draft = data.job
    return {
        "id": str(job_id),
        "name": draft.name or (saved or {}).get("name") or "step",
        "adaptor": draft.adaptor,
        "body": draft.body,
        "project_credential_id": str(draft.project_credential_id)
        if draft.project_credential_id
        else None,
    }


def run_step(
    session: Session, workflow: Workflow, job_id: uuid.UUID, data: StepRunRequest
) -> StepRunResult:
    """Execute the step once on the input; its output state and scrubbed logs."""
    job = _job(session, workflow, job_id, data)
    state = input_state(session, workflow.project_id, data.dataclip_id, data.body)
    document: dict[str, Any] = {"jobs": [job], "edges": [], "triggers": []}
    started = time.monotonic()
    run = execute(session, workflow.project_id, document, state, job_id=str(job_id))
    outcome = run.walk.executed[0][1] if run.walk.executed else None
    return StepRunResult(
        exit_reason=outcome.exit_reason if outcome else run.walk.state,
        error_type=(outcome.error_type if outcome else None) or run.walk.error_type,
        error_message=(outcome.error_message if outcome else None) or run.walk.error_message,
        output=run.output,
        logs=log_lines(run),  # type: ignore[arg-type]
        duration_ms=int((time.monotonic() - started) * 1000),
    )
