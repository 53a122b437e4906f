"""Writing what a run did: steps, dataclips and log lines, scrubbed, as it happens.

A step is two short transactions, one as it starts and one as it ends (output,
log lines, exit reason together), so history shows a run while it runs. The
project's retention policy decides whether bodies are kept.

On PostgreSQL these transactions commit asynchronously (`synchronous_commit
off`): they do not wait for the WAL flush. A database crash (not an application
crash) may forget the last fraction of a second of step records, never corrupt
them; the run's own final state and the intake of requests stay synchronous.

"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, literal, text, update
from sqlmodel import Session, col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.scrubber import Scrubber
from lightning_flows.projects.models import RetentionPolicy
from lightning_flows.runs.models import Dataclip, DataclipType, LogLine, Run, Step
from lightning_flows.runs.states import RunState

# Core statements: a step's rows are written without the ORM's unit of work.
_STEPS = Step.__table__  # type: ignore[attr-defined]
_LOG_LINES = LogLine.__table__  # type: ignore[attr-defined]
_DATACLIPS = Dataclip.__table__  # type: ignore[attr-defined]


@contextmanager
def _step_scope() -> Iterator[Session]:
    with session_scope() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield session


class RunHandedBack(Exception):
    """This engine no longer holds the run (its worker stopped or was presumed dead and
    the run was handed back): it must not execute another step of it."""


class RunRecorder:
    """Records the steps of one run. Log lines and error messages arrive scrubbed (the
    step scrubs them once, for us and for Prefect); output bodies pass through
    `scrubber` here.

    A step is only opened while the run is `started` and held by `holder` (the worker
    that started it), checked in the same statement: a worker whose run was handed
    back can never execute another step of it, and never overwrite a step that was
    closed as `lost` behind its back.
    """

    def __init__(
        self,
        run_id: uuid.UUID,
        project_id: uuid.UUID,
        retention: str,
        scrubber: Scrubber,
        holder: str | None = None,
    ) -> None:
        self.run_id = run_id
        self.project_id = project_id
        self.retention = RetentionPolicy(retention)
        self.scrubber = scrubber
        self.holder = holder
        # Lines with equal timestamps (one batch from Node) keep the order they came in.
        self._sequence = itertools.count()

    def start_step(
        self,
        step_id: uuid.UUID,
        job_id: uuid.UUID,
        input_dataclip_id: uuid.UUID | None,
        task_run_id: uuid.UUID | None,
        attempt: int = 1,
        started_at: datetime | None = None,
    ) -> None:
        """Open a step row, or raise RunHandedBack if the run is no longer ours."""
        now = started_at or utcnow()
        values = {
            "id": step_id,
            "run_id": self.run_id,
            "job_id": job_id,
            "attempt": attempt,
            "input_dataclip_id": input_dataclip_id,
            "prefect_task_run_id": task_run_id,
            "started_at": now,
            "inserted_at": now,
        }
        held = exists().where(
            col(Run.id) == self.run_id,
            col(Run.state) == RunState.STARTED.value,
            col(Run.worker_name).is_(None)
            if self.holder is None
            else col(Run.worker_name) == self.holder,
        )
        columns = list(values)
        chosen = select(*[literal(values[c], _STEPS.c[c].type).label(c) for c in columns])
        with _step_scope() as session:
            # RETURNING, not rowcount: psycopg may report -1 for INSERT ... SELECT.
            opened = session.execute(
                insert(_STEPS)
                .from_select(columns, chosen.where(held))  # type: ignore[arg-type]
                .returning(_STEPS.c.id)
            ).first()
            if opened is None:
                raise RunHandedBack(f"run {self.run_id} is no longer held by {self.holder}")

    def finish_step(
        self,
        step_id: uuid.UUID,
        *,
        exit_reason: str,
        error_type: str | None,
        error_message: str | None,
        output: dict[str, Any] | None,
        logs: Iterable[tuple[datetime, str, str, str]] = (),
        finished_at: datetime | None = None,
    ) -> uuid.UUID | None:
        """Close a step, storing its log lines and output dataclip (unless zero-persistence)."""
        now = finished_at or utcnow()
        dataclip_id = uuid.uuid4() if output is not None else None
        with _step_scope() as session:
            rows = self._log_rows(logs, step_id)
            if rows:
                session.execute(insert(_LOG_LINES), rows)
            if output is not None:
                session.execute(insert(_DATACLIPS).values(self._dataclip(dataclip_id, output, now)))
            session.execute(
                update(_STEPS)
                .where(_STEPS.c.id == step_id, _STEPS.c.exit_reason.is_(None))
                .values(
                    exit_reason=exit_reason,
                    error_type=error_type,
                    error_message=error_message[:10_000] if error_message else None,
                    output_dataclip_id=dataclip_id,
                    finished_at=now,
                )
            )
        return dataclip_id

    def _dataclip(
        self, dataclip_id: uuid.UUID | None, body: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        erase = self.retention == RetentionPolicy.ERASE_ALL
        return {
            "id": dataclip_id,
            "project_id": self.project_id,
            "type": DataclipType.STEP_RESULT.value,
            "body": None if erase else self.scrubber.value(body),
            "wiped_at": now if erase else None,
            "inserted_at": now,
            "updated_at": now,
        }

    def logs(
        self,
        lines: Iterable[tuple[datetime, str, str, str]],
        step_id: uuid.UUID | None = None,
    ) -> None:
        """Store already-scrubbed `(timestamp, level, source, message)` lines."""
        rows = self._log_rows(lines, step_id)
        if rows:
            with _step_scope() as session:
                session.execute(insert(_LOG_LINES), rows)

    def _log_rows(
        self, lines: Iterable[tuple[datetime, str, str, str]], step_id: uuid.UUID | None
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": uuid.uuid4(),
                "run_id": self.run_id,
                "step_id": step_id,
                "timestamp": ts,
                "level": level,
                "source": source[:32],
                "message": message,
                "sequence": next(self._sequence),
            }
            for ts, level, source, message in lines
        ]

    def apply_retention(
        self, session: Session, succeeded: bool, input_dataclip_id: uuid.UUID | None
    ) -> None:
        """Wipe the bodies the project's policy does not keep, once the run is over (in
        the caller's transaction, the one that ends the run)."""
        wipe_outputs = self.retention == RetentionPolicy.RETAIN_WITH_ERRORS and succeeded
        if self.retention != RetentionPolicy.ERASE_ALL and not wipe_outputs:
            return
        ids = list(session.exec(select(Step.output_dataclip_id).where(Step.run_id == self.run_id)))
        if self.retention == RetentionPolicy.ERASE_ALL and input_dataclip_id:
            ids.append(input_dataclip_id)
        ids = [i for i in ids if i is not None]
        if ids:
            session.execute(
                update(Dataclip)
                .where(col(Dataclip.id).in_(ids), col(Dataclip.wiped_at).is_(None))
                .values(body=None, wiped_at=utcnow())
            )
