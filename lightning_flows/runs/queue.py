"""Which `available` runs may start now: in priority order, within concurrency limits.

Per-workflow and per-project `concurrency` make runs wait (in order) instead
of failing. Claims take a transaction-scoped advisory lock on PostgreSQL so
that two workers cannot both take the last free slot.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import RunState, WorkOrderState
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


def _candidates(
    session: Session, scan: int
) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, int | None, int | None]]:
    return list(
        session.exec(
            select(  # type: ignore[call-overload]
                Run.id,
                WorkOrder.workflow_id,
                WorkOrder.project_id,
                Workflow.concurrency,
                Project.concurrency,
            )
            .join(WorkOrder, WorkOrder.id == Run.work_order_id)  # type: ignore[arg-type]
            .join(Workflow, Workflow.id == WorkOrder.workflow_id)  # type: ignore[arg-type]
            .join(Project, Project.id == WorkOrder.project_id)  # type: ignore[arg-type]
            .where(Run.state == RunState.AVAILABLE.value)
            .order_by(col(Run.priority), col(Run.inserted_at))
            .limit(scan)
        ).all()
    )


def startable_runs(session: Session, limit: int, scan: int = 200) -> list[uuid.UUID]:
    """Up to `limit` available runs that their workflow's and project's limits allow now."""
    by_workflow, by_project = _active_counts(session)
    chosen: list[uuid.UUID] = []
    for run_id, workflow_id, project_id, wf_limit, project_limit in _candidates(session, scan):
        if wf_limit is not None and by_workflow[workflow_id] >= wf_limit:
            continue
        if project_limit is not None and by_project[project_id] >= project_limit:
            continue
        by_workflow[workflow_id] += 1
        by_project[project_id] += 1
        chosen.append(run_id)
        if len(chosen) >= limit:
            break
    return chosen


def claim_within_limits(session: Session, run_id: uuid.UUID, worker_name: str) -> bool:
    """Claim an available run if its limits still allow it (atomic across workers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CLAIM_LOCK})
    row = session.exec(
        select(WorkOrder, Workflow.concurrency, Project.concurrency)
        .join(Run, Run.work_order_id == WorkOrder.id)  # type: ignore[arg-type]
        .join(Workflow, Workflow.id == WorkOrder.workflow_id)  # type: ignore[arg-type]
        .join(Project, Project.id == WorkOrder.project_id)  # type: ignore[arg-type]
        .where(Run.id == run_id)
    ).first()
    if row is None:
        session.rollback()
        return False
    work_order, wf_limit, project_limit = row
    by_workflow, by_project = _active_counts(session)
    if (wf_limit is not None and by_workflow[work_order.workflow_id] >= wf_limit) or (
        project_limit is not None and by_project[work_order.project_id] >= project_limit
    ):
        session.rollback()
        return False
    now = utcnow()
    claimed = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.state) == RunState.AVAILABLE.value)
        .values(state=RunState.CLAIMED.value, claimed_at=now, worker_name=worker_name)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    work_order.state, work_order.last_activity = WorkOrderState.RUNNING.value, now
    session.add(work_order)
    session.commit()
    return True


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
