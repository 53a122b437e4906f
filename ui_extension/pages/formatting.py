"""Jinja filters the pages use: timestamps, durations, JSON bodies, state badges.

Registered on the shared template environment when the pages package is imported.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from lightning_flows.core import timeutil
from ui_extension.templating import templates

BODY_PREVIEW_CHARS = 8_000
FAILED_STATES = frozenset(
    {
        "failed",
        "crashed",
        "killed",
        "exception",
        "lost",
        "rejected",
        "fail",
        "crash",
        "kill",
        "cancelled",
        "cancel",
    }
)
OK_STATES = frozenset({"success"})


def as_utc(value: datetime | None) -> datetime | None:
    return timeutil.as_utc(value) if value is not None else None


def when(value: datetime | None) -> str:
    """`2025-01-31 14:05:09 UTC`, or an em dash."""
    moment = as_utc(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def iso(value: datetime | None) -> str:
    moment = as_utc(value)
    return moment.isoformat() if moment else ""


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    first, last = as_utc(start), as_utc(end)
    if first is None or last is None:
        return None
    return max(0.0, (last - first).total_seconds())


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def duration(start: datetime | None, end: datetime | None) -> str:
    return human_seconds(seconds_between(start, end))


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def size(chars: int) -> str:
    if chars < 1024:
        return f"{chars} B"
    if chars < 1024 * 1024:
        return f"{chars / 1024:.1f} KB"
    return f"{chars / 1024 / 1024:.1f} MB"


def state_class(state: str | None) -> str:
    """CSS class of a state badge: ok, bad or pending."""
    if state in OK_STATES:
        return "badge ok"
    if state in FAILED_STATES:
        return "badge bad"
    return "badge pending"


def short_id(value: Any) -> str:
    return str(value)[:8]


templates.env.filters.update(
    when=when,
    iso=iso,
    duration=duration,
    human_seconds=human_seconds,
    pretty_json=pretty_json,
    size=size,
    state_class=state_class,
    short_id=short_id,
)
