"""What execution tells the outside world about a run's steps, without knowing who
listens: the worker passes Prefect's task-run reporter (engine/prefect/task_runs.py),
`lightning-flows run` needs none. Execution never imports Prefect."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol, TypeVar

LogLineTuple = tuple[datetime, str, str, str]
"""(timestamp, level, source, message), already scrubbed"""


class StepHandle(Protocol):
    """A reported step attempt."""

    @property
    def id(self) -> uuid.UUID: ...


H = TypeVar("H", bound=StepHandle)


class StepReporter(Protocol[H]):
    """Reports one run's steps (thread-confined: one per run)."""

    def prepare(self, name: str, job_id: str, key: uuid.UUID) -> H:
        """A step about to start, not yet announced (its id goes into the step row)."""
        ...

    def announce(self, handle: H, at: datetime | None = None) -> None:
        """The step started (`at`: the time recorded in the step row)."""
        ...

    def finish(
        self, handle: H, exit_reason: str, message: str | None, at: datetime | None = None
    ) -> None:
        """The step ended with `exit_reason` (`at`: the time recorded in the step row)."""
        ...

    def retry(self, handle: H, message: str | None, delay: float) -> None:
        """An attempt failed; the next one starts in `delay` seconds."""
        ...

    def rerun(self, handle: H, at: datetime | None = None) -> None:
        """The next attempt of the same step starts."""
        ...

    def log(self, lines: list[LogLineTuple], task_run_id: uuid.UUID | None = None) -> None:
        """Forward the run's (or a step's) log lines."""
        ...


AnyStepReporter = StepReporter[Any]
