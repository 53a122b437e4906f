"""Deleting history and wiping dataclip bodies past a project's retention periods.

- **History** (`history_retention_days`): work orders whose last activity is older
  are deleted with their runs, steps and log lines; then the project's unnamed
  dataclips older than the period.
- **Dataclips** (`dataclip_retention_days`): bodies of older unnamed dataclips are
  wiped (`body`/`request` emptied, `wiped_at` set); the row stays.

Named dataclips (saved inputs a person kept) survive both. Everything goes in
bounded batches, each its own short transaction, so intake is never blocked for
long; the Prefect flow runs of deleted runs are deleted after each commit, with
their task runs and logs, so personal data does not live on in Prefect.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prefect.exceptions import ObjectNotFound
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, LogLine, Run, Step, WorkOrder

log = logging.getLogger(__name__)


@dataclass
class Purged:
    """What one maintenance pass did for one project."""

    work_orders: int = 0
    runs: int = 0
    dataclips_deleted: int = 0
    dataclips_wiped: int = 0
    prefect_flow_runs: int = 0

    def add(self, other: Purged) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def projects_with_retention() -> list[uuid.UUID]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Project.id).where(
                    col(Project.history_retention_days).is_not(None)
                    | col(Project.dataclip_retention_days).is_not(None)
                )
            ).all()
        )


def apply_project_retention(
    project_id: uuid.UUID,
    now: datetime | None = None,
    batch_size: int | None = None,
    delete_flow_runs: Callable[[list[uuid.UUID] | None], int] | None = None,
) -> Purged:
    """Apply one project's retention periods until nothing more is due."""
    now = now or utcnow()
    batch = batch_size or get_settings().retention_batch_size
    drop = delete_flow_runs or delete_prefect_flow_runs
    with session_scope() as session:
        project = session.get(Project, project_id)
        if project is None:
            return Purged()
        history, dataclips = project.history_retention_days, project.dataclip_retention_days
    done = Purged()
    if history:
        cutoff = now - timedelta(days=history)
        while (part := _delete_history_batch(project_id, cutoff, batch)).work_orders:
            part.prefect_flow_runs = drop(part.flow_run_ids)
            done.add(part)
        while count := _delete_dataclips_batch(project_id, cutoff, batch):
            done.dataclips_deleted += count
    if dataclips:
        cutoff = now - timedelta(days=dataclips)
        while count := _wipe_dataclips_batch(project_id, cutoff, batch, now):
            done.dataclips_wiped += count
    return done


@dataclass
class _Batch(Purged):
    flow_run_ids: list[uuid.UUID] | None = None


def _delete_history_batch(project_id: uuid.UUID, cutoff: datetime, batch: int) -> _Batch:
    with session_scope() as session:
        work_orders = list(
            session.exec(
                select(WorkOrder.id)
                .where(WorkOrder.project_id == project_id, col(WorkOrder.last_activity) < cutoff)
                .limit(batch)
            ).all()
        )
        if not work_orders:
            return _Batch(flow_run_ids=[])
        runs = session.exec(
            select(Run.id, Run.prefect_flow_run_id).where(col(Run.work_order_id).in_(work_orders))
        ).all()
        run_ids = [r[0] for r in runs]
        if run_ids:
            session.execute(delete(LogLine).where(col(LogLine.run_id).in_(run_ids)))
            session.execute(delete(Step).where(col(Step.run_id).in_(run_ids)))
            session.execute(delete(Run).where(col(Run.id).in_(run_ids)))
        session.execute(delete(WorkOrder).where(col(WorkOrder.id).in_(work_orders)))
        session.commit()
    return _Batch(
        work_orders=len(work_orders),
        runs=len(run_ids),
        flow_run_ids=[r[1] for r in runs if r[1] is not None],
    )


def _due_dataclips(
    session: Session, project_id: uuid.UUID, cutoff: datetime, batch: int
) -> list[uuid.UUID]:
    return list(
        session.exec(
            select(Dataclip.id)
            .where(
                Dataclip.project_id == project_id,
                col(Dataclip.inserted_at) < cutoff,
                col(Dataclip.name).is_(None),
            )
            .limit(batch)
        ).all()
    )


def _delete_dataclips_batch(project_id: uuid.UUID, cutoff: datetime, batch: int) -> int:
    with session_scope() as session:
        ids = _due_dataclips(session, project_id, cutoff, batch)
        if ids:
            session.execute(delete(Dataclip).where(col(Dataclip.id).in_(ids)))
            session.commit()
        return len(ids)


def _wipe_dataclips_batch(
    project_id: uuid.UUID, cutoff: datetime, batch: int, now: datetime
) -> int:
    with session_scope() as session:
        ids = list(
            session.exec(
                select(Dataclip.id)
                .where(
                    Dataclip.project_id == project_id,
                    col(Dataclip.inserted_at) < cutoff,
                    col(Dataclip.name).is_(None),
                    col(Dataclip.wiped_at).is_(None),
                )
                .limit(batch)
            ).all()
        )
        if ids:
            session.execute(
                update(Dataclip)
                .where(col(Dataclip.id).in_(ids))
                .values(body=None, request=None, wiped_at=now)
            )
            session.commit()
        return len(ids)


def delete_prefect_flow_runs(flow_run_ids: list[uuid.UUID] | None) -> int:
    """Delete flow runs from Prefect (their task runs and logs go with them)."""
    from lightning_flows.engine.prefect.client import prefect_client

    deleted = 0
    for flow_run_id in flow_run_ids or []:
        try:
            prefect_client().delete_flow_run(flow_run_id)
            deleted += 1
        except ObjectNotFound:
            continue
    return deleted
