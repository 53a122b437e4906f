"""What the run inspector shows, computed from the run: the timeline, bodies, logs per step."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from lightning_flows.core import timeutil
from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.schemas import DataclipPublic, LogLinePublic, RunDetail, StepPublic
from lightning_flows.runs.states import FINAL_RUN_STATES
from ui_extension.pages.formatting import (
    BODY_PREVIEW_CHARS,
    as_utc,
    pretty_json,
    seconds_between,
    state_class,
)


@dataclass(frozen=True)
class DataclipView:
    """A dataclip body as formatted JSON, cut to `limit` characters for the preview."""

    id: uuid.UUID
    type: str
    text: str
    full_size: int
    truncated: bool
    wiped: bool
    inserted_at: datetime
    name: str | None = None  # a named dataclip is kept past retention (a test input)

    @classmethod
    def of(cls, clip: DataclipPublic, limit: int | None = BODY_PREVIEW_CHARS) -> DataclipView:
        wiped = clip.wiped_at is not None
        text = "" if wiped else pretty_json(clip.body)
        cut = limit is not None and len(text) > limit
        return cls(
            id=clip.id,
            type=clip.type.value,
            text=text[:limit] if cut and limit is not None else text,
            full_size=len(text),
            truncated=cut,
            wiped=wiped,
            inserted_at=clip.inserted_at,
            name=clip.name,
        )


def logs_by_step(lines: list[LogLinePublic]) -> dict[uuid.UUID | None, list[LogLinePublic]]:
    """Log lines grouped by step (None: lines of the run itself), in time order."""
    grouped: dict[uuid.UUID | None, list[LogLinePublic]] = defaultdict(list)
    for line in lines:
        grouped[line.step_id].append(line)
    return grouped


@dataclass(frozen=True)
class Lane:
    """One step on the timeline: where its bar starts and how wide it is (percent)."""

    step: StepPublic
    offset: float
    width: float
    seconds: float | None
    css: str


def timeline(run: RunDetail) -> list[Lane]:
    """The steps laid out between the run's start and its end (or now, while it runs)."""
    starts = [timeutil.as_utc(s.started_at) for s in run.steps if s.started_at]
    begin = as_utc(run.started_at) or (min(starts) if starts else None)
    ends = [timeutil.as_utc(s.finished_at) for s in run.steps if s.finished_at]
    end = as_utc(run.finished_at) or (
        max(ends) if ends and run.state in FINAL_RUN_STATES else utcnow()
    )
    if begin is None:
        return [Lane(step, 0.0, 0.0, None, "pending") for step in run.steps]
    total = max((seconds_between(begin, end) or 0.0), 0.001)
    lanes = []
    for step in run.steps:
        start = as_utc(step.started_at) or begin
        finish = as_utc(step.finished_at) or end
        offset = min(100.0, 100 * (seconds_between(begin, start) or 0.0) / total)
        width = min(100.0 - offset, 100 * (seconds_between(start, finish) or 0.0) / total)
        reason = step.exit_reason.value if step.exit_reason else None
        css = state_class(reason).removeprefix("badge ")
        seconds = seconds_between(step.started_at, step.finished_at)
        lanes.append(Lane(step, round(offset, 2), round(width, 2), seconds, css))
    return lanes
