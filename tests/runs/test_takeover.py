"""Runs of a dead or stopping worker: handed back to resume at the interrupted step, or
`lost` at once when the workflow says its steps must not run twice."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs import takeover, workers
from lightning_flows.runs.models import LogLine, Run, Step, WorkerRecord
from lightning_flows.runs.service import start_run
from lightning_flows.workflows.schemas import WorkflowDocument
from tests import factories


def _started(session: Session, project, *, worker: str, on_worker_loss: str = "resume"):
    doc = factories.workflow_doc(jobs=["a", "b"])
    doc = WorkflowDocument.model_validate({**doc.model_dump(), "on_worker_loss": on_worker_loss})
    wf = factories.make_workflow(session, project, doc)
    run = factories.make_run(session, wf, {"data": {}}).run
    assert start_run(session, run.id, worker)[0].state == "started"
    long_ago = utcnow() - timedelta(minutes=5)
    session.execute(update(Run).where(col(Run.id) == run.id).values(started_at=long_ago))
    jobs = {j.name: j.id for j in wf.jobs}
    done = Step(run_id=run.id, job_id=jobs["a"], exit_reason="success", finished_at=long_ago)
    open_step = Step(run_id=run.id, job_id=jobs["b"], prefect_task_run_id=uuid.uuid4())
    session.add_all([done, open_step])
    session.commit()
    return run, done, open_step


def _beat(session: Session, name: str, seconds_ago: float) -> None:
    workers.beat(session, name, hostname="h", pid=1, concurrency=1)
    session.execute(
        update(WorkerRecord)
        .where(col(WorkerRecord.name) == name)
        .values(last_heartbeat_at=utcnow() - timedelta(seconds=seconds_ago))
    )
    session.commit()


def test_a_dead_workers_run_resumes_at_the_step_in_flight(session: Session, project) -> None:
    run, done, open_step = _started(session, project, worker="dead-1")
    _beat(session, "dead-1", seconds_ago=120)

    handed = takeover.take_over_dead_workers(session, dead_after_seconds=30)

    assert handed.resumed == [run.id] and handed.lost == []
    assert handed.closed_task_runs == [open_step.prefect_task_run_id]
    for row in (run, done, open_step):
        session.refresh(row)
    assert (run.state, run.worker_name, run.priority) == ("available", None, 0)
    assert done.exit_reason == "success", "a completed step stays completed"
    assert open_step.exit_reason == "lost" and open_step.finished_at is not None
    assert "(dead-1) stopped responding" in open_step.error_message
    assert "resumes on a live worker at this step" in open_step.error_message
    assert session.get(WorkerRecord, "dead-1") is None, "a dead worker's row is dropped"
    log = session.exec(select(LogLine).where(LogLine.run_id == run.id)).one()
    assert log.step_id == open_step.id and log.level == "warn"

    resumed, was_resumed = start_run(session, run.id, "live-2")
    assert was_resumed and resumed.worker_name == "live-2"


def test_mark_lost_ends_the_run_at_once(session: Session, project) -> None:
    run, _, open_step = _started(session, project, worker="dead-2", on_worker_loss="mark_lost")
    _beat(session, "dead-2", seconds_ago=120)

    handed = takeover.take_over_dead_workers(session, dead_after_seconds=30)

    session.refresh(run)
    session.refresh(open_step)
    assert handed.lost == [(run.id, None)] and handed.resumed == []
    assert (run.state, run.error_type) == ("lost", "LostError")
    assert open_step.exit_reason == "lost"
    assert "must not run a step twice" in open_step.error_message


def test_a_live_workers_runs_are_left_alone(session: Session, project) -> None:
    run, _, open_step = _started(session, project, worker="alive-3")
    _beat(session, "alive-3", seconds_ago=1)

    handed = takeover.take_over_dead_workers(session, dead_after_seconds=30)

    session.refresh(run)
    session.refresh(open_step)
    assert handed.resumed == [] and run.state == "started" and open_step.exit_reason is None


def test_runs_of_prefects_own_workers_are_left_to_prefect(session: Session, project) -> None:
    run, _, _ = _started(session, project, worker=f"{workers.EXTERNAL_PREFIX}{uuid.uuid4()}")
    assert takeover.take_over_dead_workers(session, dead_after_seconds=30).resumed == []
    session.refresh(run)
    assert run.state == "started"


def test_a_stopping_worker_hands_back_between_steps(session: Session, project) -> None:
    run, _, open_step = _started(session, project, worker="stopping-4")
    session.execute(update(Step).where(col(Step.id) == open_step.id).values(exit_reason="success"))
    session.commit()

    handed = takeover.hand_back(session, [run.id], reason="Stopping.", held_by="stopping-4")

    session.refresh(run)
    assert handed.resumed == [run.id] and handed.closed_task_runs == []
    assert run.state == "available"
    log = session.exec(select(LogLine).where(LogLine.run_id == run.id)).one()
    assert log.message == "Stopping. The run resumes on a live worker where it stopped."


def test_the_max_duration_backstop_marks_overdue_runs_lost(session: Session, project) -> None:
    run, _, open_step = _started(session, project, worker="alive-5")
    _beat(session, "alive-5", seconds_ago=1)

    handed = takeover.sweep_overdue_runs(session, utcnow() - timedelta(minutes=1))

    session.refresh(run)
    session.refresh(open_step)
    assert handed.lost == [(run.id, None)] and run.state == "lost"
    assert open_step.exit_reason == "lost"
    assert "max run duration" in open_step.error_message
