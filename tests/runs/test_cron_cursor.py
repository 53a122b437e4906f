"""A cron run's input (Lightning's cron cursor): the output of `cron_cursor_job`'s last
successful step; without a cursor job, the final state of the last successful run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from lightning_flows.core.timeutil import utcnow
from lightning_flows.runs.models import Dataclip, Run, Step
from lightning_flows.runs.scheduled import cron_input
from lightning_flows.workflows.models import Trigger, Workflow
from tests import factories


def _step(session: Session, wf: Any, job: str, body: dict, exit_reason: str, ago: int) -> Run:
    run = factories.make_run(session, wf).run
    clip = Dataclip(project_id=wf.project_id, type="step_result", body=body)
    session.add(clip)
    session.flush()
    job_id = next(j.id for j in wf.jobs if j.name == job)
    finished = utcnow() - timedelta(minutes=ago)
    session.add(
        Step(
            run_id=run.id,
            job_id=job_id,
            exit_reason=exit_reason,
            output_dataclip_id=clip.id,
            started_at=finished,
            finished_at=finished,
        )
    )
    run.final_dataclip_id, run.finished_at = clip.id, finished
    run.state = "success" if exit_reason == "success" else "failed"
    session.add(run)
    session.commit()
    return run


def test_cron_input_is_the_cursor_jobs_last_successful_output(session: Session, project) -> None:
    wf = factories.make_workflow(
        session, project, jobs=["fetch", "upsert"], trigger="cron", cron_expression="0 * * * *"
    )
    trigger = session.get(Trigger, wf.triggers[0].id)
    assert trigger is not None
    trigger.cron_cursor_job_id = next(j.id for j in wf.jobs if j.name == "fetch")
    session.add(trigger)
    session.commit()
    _step(session, wf, "fetch", {"cursor": "2024-01-01"}, "success", ago=30)
    _step(session, wf, "upsert", {"cursor": "not the cursor job"}, "success", ago=20)
    _step(session, wf, "fetch", {"cursor": "2024-01-03"}, "fail", ago=10)
    workflow = session.get(Workflow, wf.id)
    assert workflow is not None

    clip = cron_input(session, workflow, trigger)
    assert clip is not None and clip.body == {"cursor": "2024-01-01"}

    trigger.cron_cursor_job_id = None
    clip = cron_input(session, workflow, trigger)
    assert clip is not None and clip.body == {"cursor": "not the cursor job"}
