"""Throttling failure alerts per workflow and recipient.

A recipient (a member, or the project's webhook) gets at most
`LIGHTNING_ALERT_MAX_PER_WINDOW` alerts about one workflow per window
(`LIGHTNING_ALERT_WINDOW_SECONDS`, an hour); further failures in the window are
counted with their errors, and once the window is over one summary says how many
more failed and the most common error. A workflow failing 10,000 times sends a
handful of mails and a summary per hour, never 10,000.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from lightning_flows.core.config import get_settings
from lightning_flows.core.timeutil import as_utc
from lightning_flows.notifications.models import AlertThrottle

WEBHOOK = "webhook"
_KEPT_ERRORS = 20  # distinct errors counted per window (the rest count as "other")


def user_recipient(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True)
class Summary:
    """Failures held back during a window that is over."""

    workflow_id: uuid.UUID
    recipient: str
    count: int
    most_common_error: str
    window_start: datetime
    window_end: datetime


def _window() -> timedelta:
    return timedelta(seconds=get_settings().alert_window_seconds)


def admit(
    session: Session, workflow_id: uuid.UUID, recipient: str, now: datetime, error: str
) -> bool:
    """Whether this alert goes out now (True) or is held for the window's summary (False).
    The caller commits."""
    row = _row(session, workflow_id, recipient)
    if row is None:
        # Two workers opening the same window at once: one insert fails, its whole batch
        # rolls back (the outbox rows come back) and is taken again a moment later.
        session.add(
            AlertThrottle(workflow_id=workflow_id, recipient=recipient, window_start=now, sent=1)
        )
        session.flush()
        return True
    if now >= as_utc(row.window_start) + _window() and row.suppressed == 0:
        row.window_start, row.sent, row.errors = now, 1, {}  # a new window
    elif row.sent < get_settings().alert_max_per_window:
        row.sent += 1
    else:
        row.suppressed += 1
        errors = dict(row.errors or {})
        key = error if error in errors or len(errors) < _KEPT_ERRORS else "other errors"
        errors[key] = errors.get(key, 0) + 1
        row.errors = errors
        session.add(row)
        return False
    session.add(row)
    return True


def take_due_summaries(session: Session, now: datetime) -> list[Summary]:
    """Summaries of the windows that are over with failures held back; those windows
    close (the next failure opens a new one). The caller commits, then sends."""
    cutoff = now - _window()
    rows = session.exec(
        select(AlertThrottle).where(col(AlertThrottle.window_start) <= cutoff)
    ).all()
    summaries = []
    for row in rows:
        if row.suppressed:
            top = Counter(row.errors or {}).most_common(1)
            start = as_utc(row.window_start)
            summaries.append(
                Summary(
                    row.workflow_id,
                    row.recipient,
                    row.suppressed,
                    top[0][0] if top else "",
                    start,
                    start + _window(),
                )
            )
        session.delete(row)
    return summaries


def _row(session: Session, workflow_id: uuid.UUID, recipient: str) -> AlertThrottle | None:
    query = select(AlertThrottle).where(
        AlertThrottle.workflow_id == workflow_id, AlertThrottle.recipient == recipient
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()
