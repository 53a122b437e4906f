"""The alert outbox: runs that ended in a failure state, written with their ending.

`runs/transitions.py` calls `note_ended` for every run it moves; the outbox rows go
in the same transaction as the state change (a transactional outbox), so a run that
ended failed always gets its alert, even if the process dies right after the commit,
and a rolled-back move leaves nothing. Sending happens elsewhere: workers drain the
outbox (notifications/dispatch.py) after their own commit, so runs never wait for
mail or webhooks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications.models import AlertOutbox
from lightning_flows.runs.states import RunState

ALERT_STATES = frozenset(
    {RunState.FAILED, RunState.CRASHED, RunState.KILLED, RunState.EXCEPTION, RunState.LOST}
)


def note_ended(session: Session, run_ids: Iterable[uuid.UUID], state: RunState) -> None:
    """Queue an alert for each run that moved to a failure `state`, in the caller's transaction."""
    if state not in ALERT_STATES:
        return
    now = utcnow()
    rows = [
        {"id": uuid.uuid4(), "run_id": run_id, "state": state.value, "inserted_at": now}
        for run_id in run_ids
    ]
    if rows:
        session.connection().execute(insert(AlertOutbox), rows)
