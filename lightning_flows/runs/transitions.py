"""The one way a run changes state: a conditional update checked against the table of
allowed moves (`states.ALLOWED_RUN_TRANSITIONS`).

Every caller (claiming, starting, finishing, handing back, taking over, the lost-run
sweep, a Prefect retry) goes through `transition`. The update only matches runs that
are still in a state the move is allowed from (and, if given, the states the caller
read and the worker it expects), so two processes racing for one run never both win:
the loser gets fewer ids back and leaves the run alone. The work order follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from lightning_flows.core.errors import InvalidTransition
from lightning_flows.core.timeutil import utcnow
from lightning_flows.notifications import outbox
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import (
    RunState,
    sources_of,
    stamps_for,
    work_order_state_for,
)


def transition(
    session: Session,
    run_ids: Iterable[uuid.UUID],
    target: RunState | str,
    *,
    expect: Iterable[RunState | str] | None = None,
    worker_name: str | None = None,
    held_by: str | None = None,
    resume: bool = False,
    handback: bool = False,
    error_type: str | None = None,
    extra: Mapping[str, Any] | None = None,
    commit: bool = True,
) -> list[uuid.UUID]:
    """Move the runs that may move to `target` and return their ids (others are left alone).

    `resume` and `handback` name the two backward moves (states.py). `expect` narrows
    the source states to those the caller read; `held_by` only moves runs claimed by
    that worker; `worker_name` is recorded on a claim; `extra` sets other columns of the
    run (never `state`). Commits unless
    `commit` is False (the caller's transaction then holds the move).
    """
    ids = list(run_ids)
    tgt = RunState(target)
    sources = set(sources_of(tgt, resume=resume, handback=handback))
    if expect is not None:
        sources &= {RunState(s) for s in expect}
    if not ids or not sources:
        return []
    now = utcnow()
    values: dict[str, Any] = {"state": tgt.value, **stamps_for(tgt, now)}
    if tgt == RunState.CLAIMED:
        values["worker_name"] = worker_name
    if tgt == RunState.STARTED:
        values["started_at"] = func.coalesce(Run.started_at, now) if resume else now
    elif tgt != RunState.AVAILABLE and tgt != RunState.CLAIMED:
        values["error_type"] = error_type
    if extra:
        values.update({k: v for k, v in extra.items() if k != "state"})
    statement = update(Run).where(
        col(Run.id).in_(ids), col(Run.state).in_([s.value for s in sources])
    )
    if held_by is not None:
        statement = statement.where(col(Run.worker_name) == held_by)
    moved: list[uuid.UUID] = list(
        session.exec(  # type: ignore[call-overload]
            statement.values(**values)
            .returning(col(Run.id))
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if moved:
        session.execute(
            update(WorkOrder)
            .where(col(WorkOrder.id).in_(select(Run.work_order_id).where(col(Run.id).in_(moved))))
            .values(state=work_order_state_for(tgt).value, last_activity=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        outbox.note_ended(session, moved, tgt)  # in this transaction: no ending without its alert
    if commit:
        session.commit()
    else:
        session.flush()
    return moved


def transition_one(
    session: Session, run_id: uuid.UUID, target: RunState | str, **options: Any
) -> None:
    """Move one run, or raise InvalidTransition saying where it is."""
    if not transition(session, [run_id], target, **options):
        current = session.exec(select(Run.state).where(Run.id == run_id)).first()
        raise InvalidTransition(
            f"Run {run_id}: a run cannot go from '{current}' to '{RunState(target).value}'."
        )


def align_finished_at(
    session: Session, run_id: uuid.UUID, recorded: datetime, prefect_end: datetime
) -> bool:
    """Give a finished run the end time Prefect gave its flow run.

    Prefect's API dates a state when it receives it (a client cannot set it), so the
    flow run ends a few milliseconds after the run row: the row takes Prefect's time,
    only while it still holds the time the engine recorded (nothing else moved it) and
    only for a difference under a minute. The state is not touched."""
    if abs((prefect_end - recorded).total_seconds()) >= 60:
        return False
    result = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.finished_at) == recorded)
        .values(finished_at=prefect_end)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
