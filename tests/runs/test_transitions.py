"""Every move a run can make, one by one: the table allows it or the update refuses it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update
from sqlmodel import Session, col

from lightning_flows.core.db import session_scope
from lightning_flows.runs.models import Run, WorkOrder
from lightning_flows.runs.states import (
    ALLOWED_RUN_TRANSITIONS,
    HANDBACK_RUN_STATES,
    RESUMABLE_RUN_STATES,
    RunState,
    can_transition,
)
from lightning_flows.runs.transitions import transition
from tests import factories


def _run_in(session: Session, project, state: RunState, worker: str | None = "w1") -> Run:
    wf = factories.make_workflow(session, project)
    run = factories.make_run(session, wf, {"data": {}}).run
    session.execute(
        update(Run).where(col(Run.id) == run.id).values(state=state.value, worker_name=worker)
    )
    session.commit()
    return run


PAIRS = [(a, b) for a in RunState for b in RunState if a != b]


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_forward_move_is_allowed_exactly_when_the_table_says(
    session: Session, project, current: RunState, target: RunState
) -> None:
    run = _run_in(session, project, current)
    moved = transition(session, [run.id], target)
    session.refresh(run)
    if target in ALLOWED_RUN_TRANSITIONS[current]:
        assert moved == [run.id] and run.state == target.value
    else:
        assert moved == [] and run.state == current.value


@pytest.mark.parametrize("current", list(RunState))
def test_handing_back_only_takes_active_runs_back_to_available(
    session: Session, project, current: RunState
) -> None:
    run = _run_in(session, project, current)
    moved = transition(session, [run.id], RunState.AVAILABLE, handback=True)
    session.refresh(run)
    if current in HANDBACK_RUN_STATES:
        assert moved and (run.state, run.worker_name, run.claimed_at) == ("available", None, None)
        assert session.get(WorkOrder, run.work_order_id).state == "pending"
    else:
        assert not moved and run.state == current.value
    assert not can_transition(current, RunState.AVAILABLE)


@pytest.mark.parametrize("current", list(RunState))
def test_resuming_only_reopens_resumable_final_runs(
    session: Session, project, current: RunState
) -> None:
    run = _run_in(session, project, current)
    moved = transition(session, [run.id], RunState.STARTED, resume=True)
    assert bool(moved) == (current in RESUMABLE_RUN_STATES)


def test_a_move_needs_the_expected_holder_and_state(session: Session, project) -> None:
    run = _run_in(session, project, RunState.STARTED, worker="w1")
    assert transition(session, [run.id], RunState.SUCCESS, held_by="w2") == []
    assert transition(session, [run.id], RunState.SUCCESS, expect=[RunState.CLAIMED]) == []
    assert transition(session, [run.id], RunState.SUCCESS, held_by="w1", error_type=None)
    session.refresh(run)
    assert run.state == "success" and run.finished_at is not None
    assert session.get(WorkOrder, run.work_order_id).state == "success"


def test_two_claimers_racing_for_one_run_never_both_win(session: Session, project) -> None:
    run = _run_in(session, project, RunState.AVAILABLE, worker=None)
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        with session_scope() as s:
            try:
                if transition(s, [run.id], RunState.CLAIMED, worker_name=name):
                    winners.append(name)
            except Exception:  # SQLite: a writer that waited too long loses, which is fine
                s.rollback()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.refresh(run)
    assert len(winners) == 1 and run.worker_name == winners[0]


def test_no_module_outside_runs_writes_run_state() -> None:
    """The one owner: only runs/ writes run rows (runs/transitions.py their state, the row
    builder runs/rows.py a new run's first state)."""
    import re
    from pathlib import Path

    import lightning_flows

    markers = [r"update\(Run\)", r"UPDATE runs", r"\brun\.state = (?!=)", r"\.state = RunState"]
    root = Path(lightning_flows.__file__).parent
    offenders = []
    for path in [*root.rglob("*.py"), *(root.parent / "ui_extension").rglob("*.py")]:
        rel = path.relative_to(root.parent).as_posix()
        if rel == "lightning_flows/runs/transitions.py" or "/migrations/" in rel:
            continue
        text = path.read_text()
        if rel == "lightning_flows/runs/service.py":  # links flow runs, never the state
            text = text.replace(
                "update(Run)\n        .where(\n            col(Run.id) == bindparam", ""
            )
        offenders += [f"{rel}: {m}" for m in markers if re.search(m, text)]
    assert offenders == []
