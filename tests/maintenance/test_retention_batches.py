"""Retention without Prefect: bounded batches, what the settings page says is due."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from lightning_flows.core.timeutil import utcnow
from lightning_flows.maintenance.retention import apply_project_retention
from lightning_flows.projects.models import Project
from lightning_flows.runs.models import Dataclip, Run, WorkOrder
from tests import factories
from tests.support.web import sign_in


def _aged_history(session: Session, project, days: int, count: int) -> None:
    wf = factories.make_workflow(session, project, jobs=["a"])
    ids = [factories.make_run(session, wf, {"n": i}).work_order.id for i in range(count)]
    then = utcnow() - timedelta(days=days)
    session.execute(update(WorkOrder).where(col(WorkOrder.id).in_(ids)).values(last_activity=then))
    session.execute(
        update(Dataclip).where(Dataclip.project_id == project.id).values(inserted_at=then)
    )
    session.commit()


def test_history_goes_in_bounded_batches(session: Session, project) -> None:
    row = session.get(Project, project.id)
    row.history_retention_days = 30
    session.add(row)
    session.commit()
    _aged_history(session, project, 40, 5)
    batches: list[int] = []

    def drop(ids):
        batches.append(len(ids or []))
        return 0

    done = apply_project_retention(project.id, batch_size=2, delete_flow_runs=drop)
    assert (done.work_orders, done.runs, done.dataclips_deleted) == (5, 5, 5)
    assert batches == [0, 0, 0], "three transactions of at most two work orders"
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Run)).one() == 0


def test_the_settings_page_says_what_is_due(
    client: TestClient, session: Session, project, user
) -> None:
    row = session.get(Project, project.id)
    row.history_retention_days, row.dataclip_retention_days = 30, 7
    session.add(row)
    session.commit()
    _aged_history(session, project, 10, 2)
    sign_in(client, user.email, factories.PASSWORD)
    page = client.get(f"/projects/{project.id}/settings")
    assert page.status_code == 200
    preview = page.text.split('id="retention-preview"')[1].split("</div>")[0]
    assert "<strong>0</strong> due now" in preview, "no history is 30 days old"
    assert "<strong>2</strong> due now" in preview, "two request bodies are 10 days old"
    assert "next maintenance run" in preview


def test_workers_keep_the_deployment_until_they_stop(monkeypatch) -> None:
    import threading

    from lightning_flows.maintenance import deployment

    calls: list[int] = []
    stopping = threading.Event()

    def ensure() -> bool:
        calls.append(1)
        if len(calls) == 3:
            stopping.set()
        return len(calls) > 1  # Prefect down at first: retried sooner

    monkeypatch.setattr(deployment, "ensure_quietly", ensure)
    deployment.keep_deployed(stopping, interval=0.01)
    assert len(calls) == 3
