"""What the retention flow will delete or wipe, and when: for the project settings page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from sqlmodel import Session, col, func, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, WorkOrder


@dataclass(frozen=True)
class RetentionPreview:
    next_run: datetime
    history_cutoff: datetime | None  # work orders inactive since before this are due
    work_orders_due: int
    next_history_deletion: datetime | None  # when the oldest remaining one falls due
    dataclip_cutoff: datetime | None
    bodies_due: int
    next_wipe: datetime | None


def next_maintenance_run(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return croniter(get_settings().retention_schedule, now).get_next(datetime)  # type: ignore[no-any-return]


def preview(session: Session, project: Project, now: datetime | None = None) -> RetentionPreview:
    now = now or utcnow()
    history_cutoff = dataclip_cutoff = next_deletion = next_wipe = None
    work_orders_due = bodies_due = 0
    if project.history_retention_days:
        history_cutoff = now - timedelta(days=project.history_retention_days)
        due, oldest = session.exec(
            select(
                func.count().filter(col(WorkOrder.last_activity) < history_cutoff),
                func.min(WorkOrder.last_activity),
            ).where(WorkOrder.project_id == project.id)
        ).one()
        work_orders_due = due or 0
        if oldest is not None:
            next_deletion = oldest + timedelta(days=project.history_retention_days)
    if project.dataclip_retention_days:
        dataclip_cutoff = now - timedelta(days=project.dataclip_retention_days)
        unwiped = (
            Dataclip.project_id == project.id,
            col(Dataclip.wiped_at).is_(None),
            col(Dataclip.name).is_(None),
        )
        due, oldest = session.exec(
            select(
                func.count().filter(col(Dataclip.inserted_at) < dataclip_cutoff),
                func.min(Dataclip.inserted_at),
            ).where(*unwiped)
        ).one()
        bodies_due = due or 0
        if oldest is not None:
            next_wipe = oldest + timedelta(days=project.dataclip_retention_days)
    return RetentionPreview(
        next_run=next_maintenance_run(now),
        history_cutoff=history_cutoff,
        work_orders_due=work_orders_due,
        next_history_deletion=next_deletion,
        dataclip_cutoff=dataclip_cutoff,
        bodies_due=bodies_due,
        next_wipe=next_wipe,
    )
