"""Deleting a project purges its history (work orders, runs, steps, logs, dataclips)
on both databases, as Lightning does."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, LogLine, Run, Step, WorkOrder
from tests import factories


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_deleting_a_project_with_runs_purges_its_history(
    client: TestClient, session: Session, auth: dict, project: factories.Project
) -> None:
    wf = factories.make_workflow(session, project, jobs=["a", "b"])
    other = factories.make_project(session)
    kept = factories.make_run(session, factories.make_workflow(session, other), {"keep": 1})
    for n in range(3):
        enqueued = factories.make_run(session, wf, {"n": n})
        run_id, clip = enqueued.run.id, enqueued.run.dataclip_id
        for job in wf.jobs:
            step = Step(
                run_id=run_id,
                job_id=job.id,
                input_dataclip_id=clip,
                output_dataclip_id=clip,
                exit_reason="success",
                started_at=utcnow(),
                finished_at=utcnow(),
            )
            session.add(step)
            session.flush()
            session.add(LogLine(run_id=run_id, step_id=step.id, message="hi"))
        session.commit()

    project_id, kept_id = project.id, kept.run.id
    answer = client.delete(f"/api/projects/{project_id}", headers=auth)

    assert answer.status_code == 204, answer.text
    session.expire_all()
    assert session.get(Project, project_id) is None
    assert _count(session, Run) == 1 and session.get(Run, kept_id) is not None
    assert _count(session, WorkOrder) == 1
    assert _count(session, Step) == 0 and _count(session, LogLine) == 0
    assert _count(session, Dataclip) == 1
