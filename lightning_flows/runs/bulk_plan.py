"""Deciding, for one chunk of a bulk retry, each work order's new run or why it is
skipped: the starting point and input on the latest version, checked against what
would make the retry wrong (a run still going, a wiped input, a job it never reached)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lightning_flows.core.errors import LimitExceeded
from lightning_flows.core.timeutil import utcnow
from lightning_flows.limits import service as limits
from lightning_flows.runs import rows
from lightning_flows.runs.batch_models import RetryBatch
from lightning_flows.runs.manual import default_start
from lightning_flows.runs.models import Dataclip, Run, Step, WorkOrder
from lightning_flows.runs.states import FINAL_RUN_STATES
from lightning_flows.workflows.models import Workflow, WorkflowSnapshot

# Why a work order was not retried (the keys of `skipped_reasons`).
IN_PROGRESS = "in_progress"  # its latest run has not finished
INPUT_WIPED = "input_wiped"  # the input was wiped by the retention policy
NO_INPUT = "no_input"  # no input dataclip is kept (zero persistence, deleted)
STEP_NOT_RUN = "step_not_run"  # from a job its runs never reached
JOB_NOT_IN_WORKFLOW = "job_not_in_workflow"  # from a job of another workflow / removed
WORKFLOW_DELETED = "workflow_deleted"
MONTHLY_LIMIT = "monthly_limit"


@dataclass
class _Order:
    id: uuid.UUID
    workflow_id: uuid.UUID
    dataclip_id: uuid.UUID | None
    trigger_id: uuid.UUID | None


class Planner:
    """Decides, for one chunk, each work order's new run or why it is skipped."""

    def __init__(self, session: Session, batch: RetryBatch, ids: list[uuid.UUID]) -> None:
        self.session, self.batch, self.ids = session, batch, ids
        self.snapshots: dict[uuid.UUID, WorkflowSnapshot | None] = {}

    def plan(self) -> tuple[list[dict[str, Any]], dict[uuid.UUID, str]]:
        orders = [
            _Order(*row)
            for row in self.session.exec(
                select(
                    WorkOrder.id, WorkOrder.workflow_id, WorkOrder.dataclip_id, WorkOrder.trigger_id
                ).where(col(WorkOrder.id).in_(self.ids))
            ).all()
        ]
        latest_states, first_starts = self._runs(orders)
        inputs = self._inputs(orders)
        wiped = self._wiped({clip for clip in inputs.values() if clip is not None})
        now = utcnow()
        run_rows: list[dict[str, Any]] = []
        skipped: dict[uuid.UUID, str] = {}
        for order in orders:
            snapshot = self._snapshot(order.workflow_id)
            start = self._start(order, snapshot, first_starts.get(order.id))
            clip = inputs.get(order.id)
            reason = (
                IN_PROGRESS
                if latest_states.get(order.id, "success") not in FINAL_RUN_STATES
                else WORKFLOW_DELETED
                if snapshot is None
                else start
                if isinstance(start, str)
                else (STEP_NOT_RUN if self.batch.start_job_id else NO_INPUT)
                if clip is None
                else INPUT_WIPED
                if clip in wiped
                else self._take_slot()
            )
            if reason is not None:
                skipped[order.id] = reason
                continue
            assert snapshot is not None and not isinstance(start, str)  # noqa: S101
            run_rows.append(
                rows.run_row(
                    work_order_id=order.id,
                    snapshot_id=snapshot.id,
                    dataclip_id=clip,
                    trigger_id=start[0],
                    job_id=start[1],
                    created_by_id=self.batch.created_by_id,
                    now=now,
                )
            )
        return run_rows, skipped

    def _runs(
        self, orders: list[_Order]
    ) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]]]:
        """Each work order's latest run state and its first run's starting point."""
        latest: dict[uuid.UUID, str] = {}
        first: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None]] = {}
        found = self.session.exec(
            select(Run.work_order_id, Run.state, Run.starting_trigger_id, Run.starting_job_id)
            .where(col(Run.work_order_id).in_([o.id for o in orders]))
            .order_by(col(Run.inserted_at), col(Run.id))
        ).all()
        for work_order_id, state, trigger_id, job_id in found:
            latest[work_order_id] = state
            first.setdefault(work_order_id, (trigger_id, job_id))
        return latest, first

    def _inputs(self, orders: list[_Order]) -> dict[uuid.UUID, uuid.UUID | None]:
        """The input each work order is retried with: its own input from the start, else
        the input the job's latest step had."""
        if self.batch.start_job_id is None:
            return {o.id: o.dataclip_id for o in orders}
        steps = self.session.exec(
            select(Run.work_order_id, Step.input_dataclip_id)
            .join(Run, col(Run.id) == col(Step.run_id))
            .where(
                col(Run.work_order_id).in_([o.id for o in orders]),
                col(Step.job_id) == self.batch.start_job_id,
            )
            .order_by(col(Step.inserted_at), col(Step.id))
        ).all()
        return dict(steps)  # the latest step wins

    def _wiped(self, clips: set[uuid.UUID]) -> set[uuid.UUID]:
        if not clips:
            return set()
        return set(
            self.session.exec(
                select(Dataclip.id).where(
                    col(Dataclip.id).in_(clips), col(Dataclip.wiped_at).is_not(None)
                )
            ).all()
        )

    def _snapshot(self, workflow_id: uuid.UUID) -> WorkflowSnapshot | None:
        if workflow_id not in self.snapshots:
            workflow = self.session.get(Workflow, workflow_id)
            self.snapshots[workflow_id] = (
                None
                if workflow is None or workflow.deleted_at is not None
                else self.session.exec(
                    select(WorkflowSnapshot)
                    .where(col(WorkflowSnapshot.workflow_id) == workflow_id)
                    .order_by(col(WorkflowSnapshot.lock_version).desc())
                ).first()
            )
        return self.snapshots[workflow_id]

    def _start(
        self,
        order: _Order,
        snapshot: WorkflowSnapshot | None,
        first: tuple[uuid.UUID | None, uuid.UUID | None] | None,
    ) -> tuple[uuid.UUID | None, uuid.UUID | None] | str:
        """(trigger, job) the new run starts from on the latest version, or why none."""
        if snapshot is None:
            return WORKFLOW_DELETED
        doc = snapshot.document
        jobs = {j["id"] for j in doc["jobs"]}
        if self.batch.start_job_id is not None:
            if str(self.batch.start_job_id) not in jobs:
                return JOB_NOT_IN_WORKFLOW
            return None, self.batch.start_job_id
        triggers = {t["id"] for t in doc["triggers"]}
        trigger_id, job_id = first or (order.trigger_id, None)
        if trigger_id is not None and str(trigger_id) in triggers:
            return trigger_id, None
        if job_id is not None and str(job_id) in jobs:
            return None, job_id
        return default_start(snapshot)

    def _take_slot(self) -> str | None:
        """None when the run may be created; a reason when the monthly limit refuses it."""
        try:
            limits.take_slot(self.batch.project_id)
        except LimitExceeded:
            return MONTHLY_LIMIT
        return None
