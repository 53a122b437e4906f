"""Purging a project's history before the project row goes.

PostgreSQL cannot cascade a project delete through both of its paths to steps
(runs cascade-delete them while dataclips set their ids to null), so history is
deleted explicitly, children first, with plain statements over subqueries.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlmodel import Session, col

from lightning_flows.runs.models import Dataclip, LogLine, Run, Step, WorkOrder


def purge_history(session: Session, project_id: uuid.UUID) -> None:
    """Delete the project's log lines, steps, runs, work orders and dataclips (no commit)."""
    work_orders = select(col(WorkOrder.id)).where(col(WorkOrder.project_id) == project_id)
    runs = select(col(Run.id)).where(col(Run.work_order_id).in_(work_orders))
    session.execute(delete(LogLine).where(col(LogLine.run_id).in_(runs)))
    session.execute(delete(Step).where(col(Step.run_id).in_(runs)))
    session.execute(delete(Run).where(col(Run.work_order_id).in_(work_orders)))
    session.execute(delete(WorkOrder).where(col(WorkOrder.project_id) == project_id))
    session.execute(delete(Dataclip).where(col(Dataclip.project_id) == project_id))
