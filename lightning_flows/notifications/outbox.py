"""The alert outbox: runs that ended in a failure state, noted after their commit.

`runs/transitions.py` calls `note_ended` for every run it moves; the ids wait in the
session until its transaction commits, and only then one short insert writes them to
`alert_outbox` on a connection of its own. The run-ending transaction never waits
for alerts, a rolled-back move leaves nothing, and a failure here is logged, never
raised: runs are not slowed or broken by alerting. Workers drain the outbox
(notifications/dispatch.py), so alerts survive a restart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import event, insert
from sqlalchemy.orm import Session, SessionTransaction

from lightning_flows.core.db import get_engine
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications.models import AlertOutbox
from lightning_flows.runs.states import RunState

log = logging.getLogger(__name__)
ALERT_STATES = frozenset(
    {RunState.FAILED, RunState.CRASHED, RunState.KILLED, RunState.EXCEPTION, RunState.LOST}
)
_PENDING = "lightning_alert_outbox"


def note_ended(session: Session, run_ids: Iterable[uuid.UUID], state: RunState) -> None:
    """Remember runs that moved to `state`; written to the outbox once `session` commits."""
    if state in ALERT_STATES:
        session.info.setdefault(_PENDING, []).extend((run_id, state) for run_id in run_ids)


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        write(pending)


@event.listens_for(Session, "after_transaction_end")
def _forget_when_not_committed(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the list was taken already; a rollback or close forgets the moves.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def write(endings: list[tuple[uuid.UUID, RunState]]) -> None:
    """Insert outbox rows in their own transaction; never raises."""
    now = utcnow()
    rows = [
        {"id": uuid.uuid4(), "run_id": run_id, "state": state.value, "inserted_at": now}
        for run_id, state in endings
    ]
    try:
        with get_engine().begin() as conn:
            conn.execute(insert(AlertOutbox), rows)
    except Exception:
        log.exception("could not queue failure alerts for %d run(s)", len(rows))
