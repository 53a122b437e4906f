"""Writing what a run did: steps, dataclips and log lines, scrubbed, as it happens.

Each write is its own short transaction so history shows a run while it runs.
The project's retention policy decides whether bodies are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from lightning_flows.core.db import session_scope
from lightning_flows.core.timeutil import utcnow
from lightning_flows.credentials.scrubber import Scrubber
from lightning_flows.projects.models import RetentionPolicy
from lightning_flows.runs.models import Dataclip, DataclipType, LogLine, Step


class RunRecorder:
    """Records the steps of one run; secrets pass through `scrubber` first."""

    def __init__(
        self, run_id: uuid.UUID, project_id: uuid.UUID, retention: str, scrubber: Scrubber
    ) -> None:
        self.run_id = run_id
        self.project_id = project_id
        self.retention = RetentionPolicy(retention)
        self.scrubber = scrubber

    def start_step(
        self, job_id: uuid.UUID, input_dataclip_id: uuid.UUID | None, task_run_id: uuid.UUID | None
    ) -> uuid.UUID:
        step = Step(
            run_id=self.run_id,
            job_id=job_id,
            input_dataclip_id=input_dataclip_id,
            prefect_task_run_id=task_run_id,
            started_at=utcnow(),
        )
        with session_scope() as session:
            session.add(step)
        return step.id

    def finish_step(
        self,
        step_id: uuid.UUID,
        *,
        exit_reason: str,
        error_type: str | None,
        error_message: str | None,
        output: dict[str, Any] | None,
    ) -> uuid.UUID | None:
        """Close a step, storing its output dataclip (unless zero-persistence)."""
        dataclip_id = None
        with session_scope() as session:
            if output is not None:
                dataclip = self._dataclip(output)
                session.add(dataclip)
                session.flush()
                dataclip_id = dataclip.id
            session.execute(
                update(Step)
                .where(col(Step.id) == step_id)
                .values(
                    exit_reason=exit_reason,
                    error_type=error_type,
                    error_message=self.scrubber.text(error_message)[:10_000]
                    if error_message
                    else None,
                    output_dataclip_id=dataclip_id,
                    finished_at=utcnow(),
                )
            )
        return dataclip_id

    def _dataclip(self, body: dict[str, Any]) -> Dataclip:
        erase = self.retention == RetentionPolicy.ERASE_ALL
        return Dataclip(
            project_id=self.project_id,
            type=DataclipType.STEP_RESULT.value,
            body=None if erase else self.scrubber.value(body),
            wiped_at=utcnow() if erase else None,
        )

    def logs(
        self,
        lines: Iterable[tuple[datetime, str, str, str]],
        step_id: uuid.UUID | None = None,
    ) -> None:
        """Store `(timestamp, level, source, message)` lines, scrubbed."""
        rows = [
            LogLine(
                run_id=self.run_id,
                step_id=step_id,
                timestamp=ts,
                level=level,
                source=source[:32],
                message=self.scrubber.text(message),
            )
            for ts, level, source, message in lines
        ]
        if rows:
            with session_scope() as session:
                session.add_all(rows)

    def finish_run(self, succeeded: bool, input_dataclip_id: uuid.UUID | None) -> None:
        """Apply retention once the run is over (wipe bodies the policy does not keep)."""
        wipe_outputs = self.retention == RetentionPolicy.RETAIN_WITH_ERRORS and succeeded
        if self.retention == RetentionPolicy.ERASE_ALL or wipe_outputs:
            with session_scope() as session:
                ids = list(
                    session.exec(
                        select(Step.output_dataclip_id).where(Step.run_id == self.run_id)
                    ).all()
                )
                if self.retention == RetentionPolicy.ERASE_ALL and input_dataclip_id:
                    ids.append(input_dataclip_id)
                ids = [i for i in ids if i is not None]
                if ids:
                    session.execute(
                        update(Dataclip)
                        .where(col(Dataclip.id).in_(ids), col(Dataclip.wiped_at).is_(None))
                        .values(body=None, wiped_at=utcnow())
                    )
