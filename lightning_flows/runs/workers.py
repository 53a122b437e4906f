"""Which workers are alive: each worker writes a heartbeat row every few seconds.

The platform's own table decides liveness (it works while Prefect is down); the
same heartbeats go to Prefect's work pool for its UI (engine/prefect_worker.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from lightning_flows.core.instance_lock import process_exists
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import WorkerRecord

EXTERNAL_PREFIX = "prefect:"
"""Runs held by Prefect's own workers (engine/prefect/flow.py) are named `prefect:<flow run id>`:
Prefect watches those processes; only the max-run-duration backstop applies to them."""


def beat(session: Session, name: str, *, hostname: str, pid: int, concurrency: int) -> None:
    """Record that worker `name` is alive now (creating its row on the first beat)."""
    now = utcnow()
    updated = session.connection().execute(
        update(WorkerRecord)
        .where(col(WorkerRecord.name) == name)
        .values(last_heartbeat_at=now, concurrency=concurrency)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        session.add(
            WorkerRecord(
                name=name,
                hostname=hostname,
                pid=pid,
                concurrency=concurrency,
                started_at=now,
                last_heartbeat_at=now,
            )
        )
    session.commit()


def forget(session: Session, name: str) -> None:
    """A worker that stopped cleanly (its runs are handed back) leaves the table."""
    session.execute(delete(WorkerRecord).where(col(WorkerRecord.name) == name))
    session.commit()


def heartbeats(session: Session) -> dict[str, datetime]:
    """The last heartbeat of every known worker."""
    return dict(session.exec(select(WorkerRecord.name, WorkerRecord.last_heartbeat_at)).all())


def declare_dead_neighbours(session: Session, hostname: str, me: str) -> list[str]:
    """Workers of this host whose process is gone (the platform was killed and started
    again): dead now, not after the heartbeat limit, so their runs resume at once."""
    rows = session.exec(
        select(WorkerRecord.name, WorkerRecord.pid).where(
            col(WorkerRecord.hostname) == hostname, col(WorkerRecord.name) != me
        )
    ).all()
    gone = [name for name, pid in rows if not _process_exists(pid)]
    if gone:
        session.execute(
            update(WorkerRecord)
            .where(col(WorkerRecord.name).in_(gone))
            .values(last_heartbeat_at=datetime(1970, 1, 1, tzinfo=UTC))
        )
        session.commit()
    return gone


def _process_exists(pid: int) -> bool:
    return pid <= 0 or process_exists(pid)  # pid 0: unknown, left to the heartbeat limit


def list_workers(session: Session) -> list[WorkerRecord]:
    """Every known worker, most recent heartbeat first."""
    return list(
        session.exec(select(WorkerRecord).order_by(col(WorkerRecord.last_heartbeat_at).desc()))
    )


def forget_dead(session: Session, before: datetime) -> None:
    """Drop the rows of workers silent since before `before` (their runs were handed back)."""
    session.execute(delete(WorkerRecord).where(col(WorkerRecord.last_heartbeat_at) < before))
    session.commit()
