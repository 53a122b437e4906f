"""Monthly run allowances: a slot is taken before a run is stored, atomically.

`take_slot` adds one to the project's counter for this month only while it is
below the limit (one conditional UPDATE: concurrent requests can never exceed
it); a request refused here stores nothing. A request whose storing fails gives
its slot back (`give_back`). Crossing 80% and 100% emails the project's owners
and admins once per month each (the counter row remembers the last alert).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.db import session_scope
from lightning_flows.core.errors import LimitExceeded
from lightning_flows.limits.models import ProjectUsage
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Run, WorkOrder

log = logging.getLogger(__name__)
_CACHE_SECONDS = 5.0
_limits: dict[uuid.UUID, tuple[float, int | None, str]] = {}
_mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-alert-mail")
ALERT_LEVELS = (80, 100)


def month_of(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


def seconds_to_next_month(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, int((first - now).total_seconds()) + 1)


def monthly_limit(project: Project) -> int | None:
    """The project's runs per month: its own limit, else the instance default."""
    return project.run_limit_per_month or get_settings().project_run_limit_per_month


def concurrency_limit(*limits: int | None) -> int | None:
    """The tightest of the given limits and the instance's max concurrent runs."""
    given = [n for n in (*limits, get_settings().project_max_concurrent_runs) if n]
    return min(given) if given else None


def forget(project_id: uuid.UUID) -> None:
    """Drop the cached limit of a project (its settings changed)."""
    _limits.pop(project_id, None)


def known_unlimited(project_id: uuid.UUID) -> bool:
    """True when the cache already knows the project has no monthly limit (no I/O)."""
    hit = _limits.get(project_id)
    return hit is not None and hit[1] is None and hit[0] >= time.monotonic()


def _cached_limit(session: Session, project_id: uuid.UUID) -> tuple[int | None, str]:
    now = time.monotonic()
    hit = _limits.get(project_id)
    if hit is None or hit[0] < now:
        project = session.get(Project, project_id)
        limit = monthly_limit(project) if project else None
        hit = _limits[project_id] = (now + _CACHE_SECONDS, limit, project.name if project else "")
    return hit[1], hit[2]


def refusal(limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"This project has used its {limit:,} runs for this month; no run was started. "
        "The allowance resets on the first of next month (UTC); a superuser can raise it.",
        retry_after=seconds_to_next_month(),
    )


def take_slot(project_id: uuid.UUID) -> str | None:
    """Count one run against this month's allowance (own transaction), or raise
    LimitExceeded. Returns the month taken (None when the project is unlimited)."""
    with session_scope() as session:
        limit, name = _cached_limit(session, project_id)
        if limit is None:
            return None
        month = month_of()
        _ensure_row(session, project_id, month)
        taken = session.execute(
            update(ProjectUsage)
            .where(
                col(ProjectUsage.project_id) == project_id,
                col(ProjectUsage.month) == month,
                col(ProjectUsage.runs) < limit,
            )
            .values(runs=ProjectUsage.runs + 1)
            .returning(col(ProjectUsage.runs))
        ).first()
        if taken is None:
            session.rollback()
            raise refusal(limit)
        level = _alert_due(session, project_id, month, taken[0], limit)
        session.commit()
    if level is not None:
        _mailer.submit(_send_alert, project_id, name, level, limit)
    return month


def give_back(project_id: uuid.UUID, month: str | None) -> None:
    """Return a slot taken for a request that was not stored after all."""
    if month is None:
        return
    with session_scope() as session:
        session.execute(
            update(ProjectUsage)
            .where(
                col(ProjectUsage.project_id) == project_id,
                col(ProjectUsage.month) == month,
                col(ProjectUsage.runs) > 0,
            )
            .values(runs=ProjectUsage.runs - 1)
        )
        session.commit()


@contextmanager
def slot(project_id: uuid.UUID) -> Iterator[None]:
    """Take a slot for a run created inside the block; given back if the block fails."""
    month = take_slot(project_id)
    try:
        yield
    except BaseException:
        give_back(project_id, month)
        raise


@dataclass(frozen=True)
class Usage:
    """A project's use against its limits, for the dashboard."""

    month: str
    runs: int
    run_limit: int | None
    active: int
    max_concurrent: int | None

    @property
    def percent(self) -> int | None:
        return None if not self.run_limit else min(100, self.runs * 100 // self.run_limit)


def usage(session: Session, project: Project) -> Usage:
    month = month_of()
    runs = session.exec(
        select(ProjectUsage.runs).where(
            ProjectUsage.project_id == project.id, ProjectUsage.month == month
        )
    ).first()
    active = session.exec(
        select(func.count())
        .select_from(Run)
        .join(WorkOrder, col(WorkOrder.id) == col(Run.work_order_id))
        .where(WorkOrder.project_id == project.id, col(Run.state).in_(["claimed", "started"]))
    ).one()
    return Usage(
        month=month,
        runs=runs or 0,
        run_limit=monthly_limit(project),
        active=active,
        max_concurrent=concurrency_limit(project.concurrency, project.max_concurrent_runs),
    )


def _ensure_row(session: Session, project_id: uuid.UUID, month: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ProjectUsage)  # type: ignore[attr-defined]
        .values(project_id=project_id, month=month, runs=0, alerted_percent=0)
        .on_conflict_do_nothing()
    )


def _alert_due(
    session: Session, project_id: uuid.UUID, month: str, runs: int, limit: int
) -> int | None:
    """The alert level just crossed, claimed so that it is sent once (or None)."""
    reached = [level for level in ALERT_LEVELS if runs * 100 >= level * limit]
    if not reached:
        return None
    level = reached[-1]
    claimed = session.execute(
        update(ProjectUsage)
        .where(
            col(ProjectUsage.project_id) == project_id,
            col(ProjectUsage.month) == month,
            col(ProjectUsage.alerted_percent) < level,
        )
        .values(alerted_percent=level)
    )
    return level if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def _send_alert(project_id: uuid.UUID, name: str, level: int, limit: int) -> None:
    from lightning_flows.limits.alerts import send_usage_alert

    try:
        send_usage_alert(project_id, name, level, limit)
    except Exception:
        log.exception("could not send the %s%% usage alert of project %s", level, project_id)
