"""The run state machine: legal paths pass, everything else is refused."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from lightning_flows.core.errors import InvalidTransition
from lightning_flows.runs import service
from lightning_flows.runs.models import WorkOrder
from lightning_flows.runs.states import FINAL_RUN_STATES, RunState, can_transition
from tests import factories


@pytest.mark.parametrize("final", sorted(FINAL_RUN_STATES))
def test_a_run_cannot_leave_a_final_state(final: RunState) -> None:
    for target in RunState:
        assert not can_transition(final, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (RunState.AVAILABLE, RunState.STARTED),
        (RunState.AVAILABLE, RunState.SUCCESS),
        (RunState.STARTED, RunState.CLAIMED),
        (RunState.CLAIMED, RunState.AVAILABLE),
        (RunState.STARTED, RunState.AVAILABLE),
    ],
)
def test_skipping_or_going_back_is_refused(current: RunState, target: RunState) -> None:
    assert not can_transition(current, target)


def test_only_prefect_retry_resumes_a_failed_run() -> None:
    assert can_transition(RunState.FAILED, RunState.STARTED, resume=True)
    assert not can_transition(RunState.SUCCESS, RunState.STARTED, resume=True)
    assert not can_transition(RunState.FAILED, RunState.CLAIMED, resume=True)


def test_run_and_work_order_move_together(session: Session, project) -> None:
    wf = factories.make_workflow(session, project)
    enqueued = factories.make_run(session, wf, {"data": {"n": 1}})
    run = enqueued.run
    assert run.state == "available"
    assert session.get(WorkOrder, run.work_order_id).state == "pending"

    assert service.claim_run(session, run.id, "worker-1")
    assert not service.claim_run(session, run.id, "worker-2"), "a run is claimed once"
    session.refresh(run)
    assert run.state == "claimed" and run.claimed_at is not None

    service.set_run_state(session, run, RunState.STARTED)
    wo = session.get(WorkOrder, run.work_order_id)
    session.refresh(wo)
    assert wo.state == "running"

    service.set_run_state(session, run, RunState.FAILED, error_type="TypeError")
    session.refresh(wo)
    assert (run.state, run.error_type, wo.state) == ("failed", "TypeError", "failed")
    assert run.finished_at is not None and run.finished_at >= run.started_at

    with pytest.raises(InvalidTransition, match="cannot go from 'failed' to 'success'"):
        service.set_run_state(session, run, RunState.SUCCESS)


def test_work_order_needs_a_start_in_the_snapshot(session: Session, project) -> None:
    import uuid

    from lightning_flows.core.errors import InvalidInput
    from lightning_flows.runs.models import DataclipType
    from lightning_flows.workflows import service as workflows
    from lightning_flows.workflows.models import Workflow

    wf = factories.make_workflow(session, project)
    with pytest.raises(InvalidInput, match="not part of this workflow"):
        service.create_work_order(
            session,
            workflow=session.get(Workflow, wf.id),
            snapshot=workflows.latest_snapshot(session, wf.id),
            body={},
            dataclip_type=DataclipType.SAVED_INPUT,
            start_job_id=uuid.uuid4(),
        )
