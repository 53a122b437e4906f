"""Which `available` runs may start now: in priority order, within concurrency limits.

Workers claim runs in batches. Per-workflow and per-project `concurrency` make
runs wait (in order) instead of failing; when a limit applies, claims take a
transaction-scoped advisory lock on PostgreSQL so that two workers cannot both
take the last free slot. The claim itself is a conditional update, so two
workers racing for the same run never both get it.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from lightning_flows.limits.service import concurrency_limit
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import RunState
from lightning_flows.runs.transitions import transition
from lightning_flows.workflows.models import Workflow

ACTIVE = (RunState.CLAIMED.value, RunState.STARTED.value)
_CLAIM_LOCK = 7_318_001  # any constant: the advisory lock id of run claiming


def _active_counts(session: Session) -> tuple[Counter[uuid.UUID], Counter[uuid.UUID]]:
    rows = session.exec(
        select(WorkOrder.workflow_id, WorkOrder.project_id, func.count())
        .join(Run, Run.work_order_id == WorkOrder.id)  # type: ignore[arg-type]
        .where(col(Run.state).in_(ACTIVE))
        .group_by(col(WorkOrder.workflow_id), col(WorkOrder.project_id))
    ).all()
    by_workflow: Counter[uuid.UUID] = Counter()
    by_project: Counter[uuid.UUID] = Counter()
    for workflow_id, project_id, count in rows:
        by_workflow[workflow_id] += count
        by_project[project_id] += count
    return by_workflow, by_project


@dataclass(frozen=True)
class ClaimedRun:
    """A run this worker now holds (`claimed`), with what dispatching it needs."""

    run_id: uuid.UUID
    work_order_id: uuid.UUID
    workflow_id: uuid.UUID
    project_id: uuid.UUID
    workflow_name: str
    deployment_id: uuid.UUID | None
    prefect_flow_run_id: uuid.UUID | None


def _candidates(session: Session, scan: int) -> list[Any]:
    query = (
        select(  # type: ignore[call-overload, misc]
            Run.id,
            Run.work_order_id,
            Run.prefect_flow_run_id,
            WorkOrder.workflow_id,
            WorkOrder.project_id,
            Workflow.name,
            Workflow.prefect_deployment_id,
            Workflow.concurrency,
            Project.concurrency,
            Project.max_concurrent_runs,
        )
        .join(WorkOrder, WorkOrder.id == Run.work_order_id)  # type: ignore[arg-type]
        .join(Workflow, Workflow.id == WorkOrder.workflow_id)  # type: ignore[arg-type]
        .join(Project, Project.id == WorkOrder.project_id)  # type: ignore[arg-type]
        .where(Run.state == RunState.AVAILABLE.value)
        .order_by(col(Run.priority), col(Run.inserted_at))
        .limit(scan)
    )
    return list(session.exec(query).all())


def claim_runs(session: Session, limit: int, worker_name: str, scan: int = 200) -> list[ClaimedRun]:
    """Claim up to `limit` available runs, in priority order, that their workflow's
    and project's concurrency limits allow now (one transaction, committed)."""
    candidates = _candidates(session, scan)
    project_limits = {row[4]: concurrency_limit(row[8], row[9]) for row in candidates}
    if any(row[7] is not None or project_limits[row[4]] is not None for row in candidates):
        if session.get_bind().dialect.name == "postgresql":
            # Limits are counted across workers: one claimer at a time.
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK})
        by_workflow, by_project = _active_counts(session)
    else:
        by_workflow, by_project = Counter(), Counter()
    chosen: list[ClaimedRun] = []
    for row in candidates:
        run_id, work_order_id, flow_run_id, workflow_id, project_id, name, deployment_id = row[:7]
        wf_limit, project_limit = row[7], project_limits[project_id]
        if wf_limit is not None and by_workflow[workflow_id] >= wf_limit:
            continue
        if project_limit is not None and by_project[project_id] >= project_limit:
            continue
        by_workflow[workflow_id] += 1
        by_project[project_id] += 1
        chosen.append(
            ClaimedRun(
                run_id, work_order_id, workflow_id, project_id, name, deployment_id, flow_run_id
            )
        )
        if len(chosen) >= limit:
            break
    if not chosen:
        session.rollback()
        return []
    claimed = set(
        transition(session, [c.run_id for c in chosen], RunState.CLAIMED, worker_name=worker_name)
    )
    return [c for c in chosen if c.run_id in claimed]


def release_claims(
    session: Session, run_ids: list[uuid.UUID], worker_name: str | None = None
) -> list[uuid.UUID]:
    """Give back runs claimed but never started (Prefect unreachable, worker stopping):
    `available` again. Only those `worker_name` holds, if given."""
    return transition(
        session,
        run_ids,
        RunState.AVAILABLE,
        handback=True,
        expect=[RunState.CLAIMED],
        held_by=worker_name,
    )


def lost_runs(session: Session, cutoff: datetime) -> list[Run]:
    """Runs claimed or started before `cutoff` that never finished."""
    return list(
        session.exec(
            select(Run).where(
                col(Run.state).in_(ACTIVE),
                func.coalesce(Run.started_at, Run.claimed_at) < cutoff,
            )
        ).all()
    )
