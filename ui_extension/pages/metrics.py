"""Dashboard numbers of a project for a period: work orders and runs by state, per workflow."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import FINAL_RUN_STATES, RunState, WorkOrderState
from lightning_flows.workflows.models import Workflow

PERIODS: dict[str, tuple[str, timedelta]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "90d": ("Last 90 days", timedelta(days=90)),
}
DEFAULT_PERIOD = "7d"
# Work orders that ended badly: what "failed work orders" counts and links to.
FAILED_WORK_ORDER_STATES = (
    WorkOrderState.FAILED,
    WorkOrderState.CRASHED,
    WorkOrderState.KILLED,
    WorkOrderState.EXCEPTION,
    WorkOrderState.LOST,
)


@dataclass
class Stats:
    """Counts for one workflow, or for the whole project."""

    workflow_id: uuid.UUID | None
    name: str
    deleted: bool = False
    work_orders: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)

    @property
    def work_order_total(self) -> int:
        return sum(self.work_orders.values())

    @property
    def run_total(self) -> int:
        return sum(self.runs.values())

    @property
    def failed_work_orders(self) -> int:
        return sum(self.work_orders[s.value] for s in FAILED_WORK_ORDER_STATES)

    @property
    def success_rate(self) -> float | None:
        """Successful runs among finished ones (None when none finished)."""
        finished = sum(self.runs[s.value] for s in FINAL_RUN_STATES)
        return self.runs[RunState.SUCCESS.value] / finished if finished else None

    def add(self, other: Stats) -> None:
        self.work_orders.update(other.work_orders)
        self.runs.update(other.runs)


def period_start(period: str, now: datetime | None = None) -> datetime:
    """The start of the period, to the minute (so the history link shows the same set)."""
    return ((now or utcnow()) - PERIODS[period][1]).replace(second=0, microsecond=0)


def project_stats(
    session: Session, project_id: uuid.UUID, since: datetime
) -> tuple[Stats, list[Stats]]:
    """(project totals, per-workflow stats by name) for work orders/runs since `since`."""
    workflows = session.exec(
        select(Workflow.id, Workflow.name, Workflow.deleted_at).where(
            col(Workflow.project_id) == project_id
        )
    ).all()
    per_workflow = {
        wf_id: Stats(wf_id, name, deleted=deleted_at is not None)
        for wf_id, name, deleted_at in workflows
    }
    order_counts = session.exec(
        select(WorkOrder.workflow_id, WorkOrder.state, sa.func.count())
        .where(col(WorkOrder.project_id) == project_id, col(WorkOrder.inserted_at) >= since)
        .group_by(col(WorkOrder.workflow_id), col(WorkOrder.state))
    ).all()
    run_counts = session.exec(
        select(WorkOrder.workflow_id, Run.state, sa.func.count())
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .where(col(WorkOrder.project_id) == project_id, col(Run.inserted_at) >= since)
        .group_by(col(WorkOrder.workflow_id), col(Run.state))
    ).all()
    for wf_id, state, count in order_counts:
        per_workflow[wf_id].work_orders[state] += count
    for wf_id, state, count in run_counts:
        per_workflow[wf_id].runs[state] += count
    total = Stats(None, "All workflows")
    for stats in per_workflow.values():
        total.add(stats)
    shown = [s for s in per_workflow.values() if not s.deleted or s.work_order_total or s.run_total]
    return total, sorted(shown, key=lambda s: (s.deleted, s.name.lower()))
