"""Everything a run needs before its first step: snapshot, plan, input, retention."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.engine.execution_plan import ExecutionPlan, plan_from_snapshot
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, DataclipType, Run, Step, WorkOrder
from lightning_flows.workflows.models import WorkflowSnapshot


@dataclass
class ReusableStep:
    """A step that succeeded in an earlier attempt of the same run (Prefect retry)."""

    output: dict[str, Any]
    output_dataclip_id: uuid.UUID


@dataclass
class RunContext:
    run_id: uuid.UUID
    work_order_id: uuid.UUID
    project_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_name: str
    retention: str
    plan: ExecutionPlan
    input_dataclip_id: uuid.UUID | None
    initial_state: dict[str, Any]
    resumed: bool = False
    reusable: dict[str, ReusableStep] = field(default_factory=dict)
    failed_job_id: str | None = None
    """On a resume: the job of the last step that did not succeed"""
    failed_job_name: str | None = None
    step_timeout_seconds: float | None = None  # the project's, within the instance's
    state_limit_bytes: int | None = None
    step_memory_limit_mb: int | None = None


def load_run_context(session: Session, run: Run, *, resumed: bool) -> RunContext:
    work_order = session.get(WorkOrder, run.work_order_id)
    assert work_order is not None  # noqa: S101 (foreign key)
    retention, step_timeout, state_limit, memory_limit = session.exec(
        select(
            Project.retention_policy,
            Project.step_timeout_seconds,
            Project.state_limit_bytes,
            Project.step_memory_limit_mb,
        ).where(Project.id == work_order.project_id)
    ).one()
    workflow_name, plan = _plan(
        session,
        run.snapshot_id,
        str(run.starting_trigger_id) if run.starting_trigger_id else None,
        str(run.starting_job_id) if run.starting_job_id else None,
    )
    dataclip = session.get(Dataclip, run.dataclip_id) if run.dataclip_id else None
    return RunContext(
        run_id=run.id,
        work_order_id=work_order.id,
        project_id=work_order.project_id,
        workflow_id=work_order.workflow_id,
        workflow_name=workflow_name,
        retention=retention,
        plan=plan,
        input_dataclip_id=run.dataclip_id,
        initial_state=initial_state(dataclip),
        resumed=resumed,
        reusable=_reusable_steps(session, run.id) if resumed else {},
        **(_last_failure(session, run) if resumed else {}),
        step_timeout_seconds=step_timeout,
        state_limit_bytes=state_limit,
        step_memory_limit_mb=memory_limit,
    )


# Snapshots never change, so their plans are kept (bounded) instead of re-read per run.
_plans: dict[tuple[uuid.UUID, str | None, str | None], tuple[str, ExecutionPlan]] = {}
_MAX_PLANS = 1024


def _plan(
    session: Session, snapshot_id: uuid.UUID, trigger_id: str | None, job_id: str | None
) -> tuple[str, ExecutionPlan]:
    key = (snapshot_id, trigger_id, job_id)
    cached = _plans.get(key)
    if cached is None:
        snapshot = session.get(WorkflowSnapshot, snapshot_id)
        assert snapshot is not None  # noqa: S101 (foreign key)
        plan = plan_from_snapshot(snapshot.document, trigger_id=trigger_id, job_id=job_id)
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        cached = _plans[key] = (snapshot.name, plan)
    return cached


def initial_state(dataclip: Dataclip | None) -> dict[str, Any]:
    """The state the first step receives, as Lightning builds it from the input dataclip."""
    if dataclip is None or dataclip.body is None:
        return {}
    body = dataclip.body
    if dataclip.type in (DataclipType.HTTP_REQUEST.value, DataclipType.GLOBAL.value):
        state: dict[str, Any] = {"data": body}
        if dataclip.request:
            state["request"] = dataclip.request
        return state
    return dict(body) if isinstance(body, dict) else {"data": body}


def _last_failure(session: Session, run: Run) -> dict[str, str | None]:
    """The job of the run's last step that did not succeed, and its name in the most
    recent version that has it."""
    job_id = session.exec(
        select(Step.job_id)
        .where(Step.run_id == run.id, col(Step.exit_reason).is_not(None))
        .where(Step.exit_reason != "success")
        .order_by(col(Step.started_at).desc())
    ).first()
    if job_id is None:
        return {}
    documents = session.exec(
        select(WorkflowSnapshot.document)
        .join(WorkOrder, col(WorkOrder.workflow_id) == col(WorkflowSnapshot.workflow_id))
        .where(WorkOrder.id == run.work_order_id)
        .order_by(col(WorkflowSnapshot.lock_version).desc())
        .limit(50)
    ).all()
    name = next(
        (j["name"] for doc in documents for j in doc.get("jobs", []) if j["id"] == str(job_id)),
        None,
    )
    return {"failed_job_id": str(job_id), "failed_job_name": name}


def _reusable_steps(session: Session, run_id: uuid.UUID) -> dict[str, ReusableStep]:
    rows = session.exec(
        select(Step, Dataclip)
        .join(Dataclip, Dataclip.id == Step.output_dataclip_id)  # type: ignore[arg-type]
        .where(Step.run_id == run_id, Step.exit_reason == "success")
        .order_by(col(Step.started_at))
    ).all()
    return {
        str(step.job_id): ReusableStep(output=dict(clip.body), output_dataclip_id=clip.id)
        for step, clip in rows
        if isinstance(clip.body, dict) and clip.wiped_at is None
    }
