"""Steps as Prefect task runs, reported as Prefect's own task engine reports them.

Prefect 3 orchestrates task runs client-side: the engine sends state-change
events (`prefect.task-run.Running`, `...Completed`) and the server's task-run
recorder stores the task run from them. We send the same events for each step
(batched over Prefect's events websocket, no API call per step) and forward the
step's log lines through Prefect's batching log worker. The events carry the
flow run as a related resource, which is how the server links a task run to it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect.client.schemas.actions import LogCreate
from prefect.client.schemas.objects import TaskRun
from prefect.events import Event
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.states import AwaitingRetry, Completed, Crashed, Failed, Retrying, Running, State

log = logging.getLogger(__name__)

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "success": logging.INFO,
    "always": logging.INFO,
}
_FOLLOWS_WINDOW = timedelta(minutes=5)  # Prefect ignores `follows` beyond this
_MAX_LOG_CHARS = 100_000
_TASK_RUN_EXCLUDE = {
    "id",
    "created",
    "updated",
    "flow_run_id",
    "state_id",
    "state_type",
    "state_name",
    "state",
    "estimated_start_time_delta",
    "estimated_run_time",
}


@dataclass
class StepTaskRun:
    """The Prefect task run of one step, and the last event sent for it."""

    task_run: TaskRun
    last_event: Event | None = None

    @property
    def id(self) -> uuid.UUID:
        return self.task_run.id


def final_state(exit_reason: str, message: str | None) -> State[Any]:
    """The Prefect state for a step's exit reason."""
    if exit_reason == "success":
        return Completed()
    if exit_reason == "fail":
        return Failed(message=message)
    if exit_reason == "kill":
        return Failed(name="Killed", message=message)
    return Crashed(message=message)


class TaskRunReporter:
    """Reports the steps of one flow run to Prefect (thread-confined: one per run)."""

    def __init__(self, flow_run_id: uuid.UUID, flow_run_name: str, tags: list[str]) -> None:
        self.flow_run_id = flow_run_id
        self.flow_run_name = flow_run_name
        self.tags = sorted(set(tags))
        # Only the flow run: each related resource is a row per event on the server,
        # and the task run's tags travel in its payload anyway.
        self._related = [
            {
                "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": flow_run_name,
            }
        ]

    def start(self, name: str, job_id: str, key: uuid.UUID) -> StepTaskRun:
        """A task run named after the job enters Running; `key` is unique per attempt."""
        handle = self.prepare(name, job_id, key)
        self.announce(handle)
        return handle

    def prepare(self, name: str, job_id: str, key: uuid.UUID) -> StepTaskRun:
        """The task run of a step about to start, not yet sent (see `announce`)."""
        state: State[Any] = Running()
        task_run = TaskRun(
            id=uuid.uuid4(),
            name=name,
            flow_run_id=self.flow_run_id,
            task_key=f"lightning-flows-step-{job_id}",
            dynamic_key=str(key),
            tags=self.tags,
            task_inputs={},
            run_count=1,
            expected_start_time=state.timestamp,
            start_time=state.timestamp,
            state=state,
        )
        return StepTaskRun(task_run)

    def announce(self, handle: StepTaskRun, at: datetime | None = None) -> None:
        """Send the prepared task run's Running state, dated `at` (the step row's start)
        so that Prefect's start time equals ours."""
        state = handle.task_run.state
        assert state is not None  # noqa: S101 (set by prepare)
        if at is not None:
            state.timestamp = _aware(at)  # type: ignore[assignment]
            handle.task_run.start_time = handle.task_run.expected_start_time = state.timestamp  # type: ignore[assignment]
        self._emit(handle, None, state)

    def finish(
        self,
        handle: StepTaskRun,
        exit_reason: str,
        message: str | None,
        at: datetime | None = None,
    ) -> None:
        """The task run ends in the state matching the step's exit reason, dated `at`
        (the step row's end) so that Prefect's end time equals ours."""
        before = handle.task_run.state
        assert before is not None  # noqa: S101 (set by start)
        state = final_state(exit_reason, message)
        if at is not None:
            state.timestamp = _aware(at)  # type: ignore[assignment]
        if state.timestamp <= before.timestamp:
            state.timestamp = before.timestamp + timedelta(microseconds=1)
        handle.task_run.end_time = state.timestamp  # type: ignore[assignment]
        handle.task_run.total_run_time = state.timestamp - before.timestamp
        handle.task_run.state = state
        self._emit(handle, before, state)

    def retry(self, handle: StepTaskRun, message: str | None, delay: float) -> None:
        """A failed attempt: the task run waits (`AwaitingRetry`), as Prefect's own do."""
        before = handle.task_run.state
        assert before is not None  # noqa: S101 (set by start)
        state: State[Any] = AwaitingRetry(
            scheduled_time=_later(before.timestamp, delay), message=message
        )
        state.timestamp = _later(before.timestamp, 0)
        handle.task_run.state = state
        self._emit(handle, before, state)

    def rerun(self, handle: StepTaskRun, at: datetime | None = None) -> None:
        """The next attempt of the same task run starts (`Retrying`, run count + 1)."""
        before = handle.task_run.state
        assert before is not None  # noqa: S101 (set by retry)
        state: State[Any] = Retrying()
        if at is not None:
            state.timestamp = _aware(at)  # type: ignore[assignment]
        state.timestamp = max(state.timestamp, _later(before.timestamp, 0))
        handle.task_run.run_count += 1
        handle.task_run.state = state
        self._emit(handle, before, state)

    def log(
        self,
        lines: list[tuple[datetime, str, str, str]],
        task_run_id: uuid.UUID | None = None,
    ) -> None:
        """Forward already-scrubbed `(timestamp, level, source, message)` lines."""
        worker = APILogWorker.instance()
        for timestamp, level, source, message in lines:
            worker.send(
                LogCreate(
                    name=f"lightning_flows.{source}",
                    level=_LEVELS.get(level, logging.INFO),
                    message=f"{source} {message}"[:_MAX_LOG_CHARS],
                    timestamp=_aware(timestamp),
                    flow_run_id=self.flow_run_id,
                    task_run_id=task_run_id,
                ).model_dump(mode="json")
            )

    def _emit(self, handle: StepTaskRun, before: State[Any] | None, state: State[Any]) -> None:
        task_run = handle.task_run
        state.state_details.task_run_id = task_run.id
        state.state_details.flow_run_id = self.flow_run_id
        follows = handle.last_event
        event = Event(
            id=state.id,
            occurred=state.timestamp,
            event=f"prefect.task-run.{state.name}",
            resource={
                "prefect.resource.id": f"prefect.task-run.{task_run.id}",
                "prefect.resource.name": task_run.name,
                "prefect.run-count": str(task_run.run_count),
                "prefect.state-message": state.message or "",
                "prefect.state-name": state.name or "",
                "prefect.state-timestamp": state.timestamp.isoformat(),
                "prefect.state-type": state.type.value,
                "prefect.orchestration": "client",
            },
            related=self._related,  # type: ignore[arg-type]
            payload={
                "intended": {
                    "from": before.type.value if before else None,
                    "to": state.type.value,
                },
                "initial_state": _state_payload(before) if before else None,
                "validated_state": {**_state_payload(state), "data": None},
                "task_run": task_run.model_dump(
                    mode="json", exclude_none=True, exclude=_TASK_RUN_EXCLUDE
                ),
            },
            follows=(
                follows.id
                if follows and state.timestamp - follows.occurred < _FOLLOWS_WINDOW
                else None
            ),
        )
        try:
            EventsWorker.instance().send(event)
        except Exception:  # Prefect's view is a mirror; never fail a step over it
            log.warning("could not send the task run event %s", event.event, exc_info=True)
        handle.last_event = event


def _state_payload(state: State[Any]) -> dict[str, Any]:
    return {
        "type": state.type.value,
        "name": state.name,
        "message": state.message or "",
        "state_details": state.state_details.model_dump(
            mode="json",
            exclude_none=True,
            exclude_unset=True,
            exclude={"flow_run_id", "task_run_id"},
        ),
    }


def _later(timestamp: datetime, seconds: float) -> datetime:
    """A moment after `timestamp`: state timestamps must increase."""
    return max(datetime.now(UTC), timestamp) + timedelta(seconds=seconds, microseconds=1)


def _aware(timestamp: datetime) -> datetime:
    return timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
