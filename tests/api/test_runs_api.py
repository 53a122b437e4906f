"""The history API: a run and its steps, log lines, dataclips, a project's work orders."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from lightning_flows.projects.models import Role
from lightning_flows.runs.models import Dataclip, Run
from lightning_flows.runs.service import Enqueued
from tests import factories
from tests.runs.test_queries import T0, add_dataclip, add_log, add_step, save


def _input(enqueued: Enqueued) -> Dataclip:
    assert enqueued.dataclip is not None
    return enqueued.dataclip


@pytest.fixture
def workflow(session: Session, project) -> factories.WorkflowPublic:
    return factories.make_workflow(session, project, jobs=["Fetch", "Load"])


def test_run_shows_steps_in_order_named_from_the_snapshot(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    enqueued = factories.make_run(session, workflow, {"data": {"n": 1}})
    run = save(
        session,
        enqueued.run,
        state="failed",
        error_type="RuntimeError",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
    )
    fetch, load = workflow.jobs
    out = add_dataclip(session, project.id, {"data": {"n": 2}})
    second = add_step(
        session,
        run,
        load.id,
        input=out,
        exit_reason="fail",
        error_type="RuntimeError",
        error_message="boom",
        started_at=T0 + timedelta(seconds=2),
    )
    first = add_step(
        session,
        run,
        fetch.id,
        input=_input(enqueued),
        output=out,
        exit_reason="success",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        prefect_task_run_id=uuid.uuid4(),
    )
    doc = workflow.model_dump(mode="json")
    doc["jobs"] = [{**doc["jobs"][0], "name": "Fetch renamed"}]  # and Load deleted
    doc["edges"] = [e for e in doc["edges"] if e["target_job_id"] == str(fetch.id)]
    client.put(
        f"/api/projects/{project.id}/workflows/{workflow.id}", json=doc, headers=auth
    ).raise_for_status()

    response = client.get(f"/api/runs/{run.id}", headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "failed" and body["error_type"] == "RuntimeError"
    assert body["work_order_id"] == str(enqueued.work_order.id)
    assert body["workflow_id"] == str(workflow.id) and body["project_id"] == str(project.id)
    assert body["starting_trigger_id"] == str(workflow.triggers[0].id)
    assert body["dataclip_id"] == str(enqueued.work_order.dataclip_id)
    assert body["started_at"].startswith("2024-03-01T12:00:00")
    assert [s["id"] for s in body["steps"]] == [str(first.id), str(second.id)]
    assert [s["job_name"] for s in body["steps"]] == ["Fetch", "Load"]
    step = body["steps"][1]
    assert step == {
        "id": str(second.id),
        "job_id": str(load.id),
        "job_name": "Load",
        "attempt": 1,
        "max_attempts": 1,
        "exit_reason": "fail",
        "error_type": "RuntimeError",
        "error_message": "boom",
        "input_dataclip_id": str(out.id),
        "output_dataclip_id": None,
        "started_at": step["started_at"],
        "finished_at": None,
        "prefect_task_run_id": None,
    }
    assert body["steps"][0]["prefect_task_run_id"] == str(first.prefect_task_run_id)


def test_log_lines_are_ordered_filtered_and_paginated(
    client: TestClient, auth: dict, session: Session, workflow
) -> None:
    run = factories.make_run(session, workflow).run
    step = add_step(session, run, workflow.jobs[0].id)
    for i in reversed(range(5)):
        add_log(
            session,
            run,
            f"line {i}",
            step=step if i % 2 else None,
            timestamp=T0 + timedelta(seconds=i),
            level="debug" if i else "info",
        )
    url = f"/api/runs/{run.id}/log_lines"

    page = client.get(url, headers=auth).json()
    assert page["total"] == 5 and page["page"] == 1 and page["page_size"] == 100
    assert [line["message"] for line in page["items"]] == [f"line {i}" for i in range(5)]
    first = page["items"][0]
    assert set(first) == {"id", "timestamp", "level", "source", "step_id", "message"}
    assert first["level"] == "info" and first["source"] == "R/T" and first["step_id"] is None

    second = client.get(url, params={"page": 2, "page_size": 2}, headers=auth).json()
    assert [line["message"] for line in second["items"]] == ["line 2", "line 3"]
    assert second["total"] == 5
    by_step = client.get(url, params={"step_id": str(step.id)}, headers=auth).json()
    assert [line["message"] for line in by_step["items"]] == ["line 1", "line 3"]
    assert by_step["total"] == 2
    capped = client.get(url, params={"page_size": 5000}, headers=auth).json()
    assert capped["page_size"] == 1000


def test_dataclip_shape_and_wiped_body(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    clip = _input(factories.make_run(session, workflow, {"data": {"patient": "x"}}))
    save(session, clip, request={"headers": {"content-type": "application/json"}})
    body = client.get(f"/api/dataclips/{clip.id}", headers=auth).json()
    assert body == {
        "id": str(clip.id),
        "type": "http_request",
        "body": {"data": {"patient": "x"}},
        "request": {"headers": {"content-type": "application/json"}},
        "name": None,
        "wiped_at": None,
        "inserted_at": body["inserted_at"],
    }
    save(session, clip, wiped_at=T0)
    wiped = client.get(f"/api/dataclips/{clip.id}", headers=auth).json()
    assert wiped["body"] is None and wiped["request"] is None
    assert wiped["wiped_at"].startswith("2024-03-01T12:00:00")


def test_work_orders_list_with_runs_newest_first(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    older = factories.make_run(session, workflow)
    newer = factories.make_run(session, workflow)
    save(session, older.work_order, inserted_at=T0)
    save(session, older.run, inserted_at=T0)
    retry = save(
        session,
        Run(
            work_order_id=older.work_order.id,
            snapshot_id=older.run.snapshot_id,
            starting_job_id=workflow.jobs[1].id,
            state="success",
            inserted_at=T0 + timedelta(minutes=5),
        ),
    )
    url = f"/api/projects/{project.id}/work_orders"

    page = client.get(url, headers=auth).json()
    assert page["total"] == 2
    assert [wo["id"] for wo in page["items"]] == [
        str(newer.work_order.id),
        str(older.work_order.id),
    ]
    item = page["items"][1]
    assert item["workflow_name"] == workflow.name and item["workflow_id"] == str(workflow.id)
    assert item["trigger_id"] == str(workflow.triggers[0].id)
    assert item["state"] == "pending" and item["dataclip_id"] == str(older.work_order.dataclip_id)
    assert {"inserted_at", "last_activity"} <= set(item)
    assert [r["id"] for r in item["runs"]] == [str(retry.id), str(older.run.id)]
    assert set(item["runs"][0]) == {
        "id",
        "state",
        "error_type",
        "inserted_at",
        "started_at",
        "finished_at",
        "version",
        "latest_version",
        "started_by",
    }
    assert [r["started_by"] for r in item["runs"]] == ["retry", "webhook"]
    assert item["started_by"] == "webhook"
    paged = client.get(url, params={"page": 2, "page_size": 1}, headers=auth).json()
    assert paged["total"] == 2 and [wo["id"] for wo in paged["items"]] == [str(older.work_order.id)]


def test_work_order_filters_over_http(
    client: TestClient, auth: dict, session: Session, project, workflow
) -> None:
    other_wf = factories.make_workflow(session, project)
    failed = factories.make_run(session, workflow, {"name": "Kofi 100%"}).work_order
    crashed = factories.make_run(session, other_wf).work_order
    pending = factories.make_run(session, workflow).work_order
    save(session, failed, state="failed", inserted_at=T0, last_activity=T0)
    save(
        session,
        crashed,
        state="crashed",
        inserted_at=T0 + timedelta(days=1),
        last_activity=T0 + timedelta(days=3),
    )
    add_log(session, factories.make_run(session, other_wf).run, "Kofi 100 percent")
    url = f"/api/projects/{project.id}/work_orders"

    def ids(**params: object) -> list[str]:
        response = client.get(url, params=params, headers=auth)
        assert response.status_code == 200, response.text
        return [wo["id"] for wo in response.json()["items"]]

    assert ids(status=["failed", "crashed"]) == [str(crashed.id), str(failed.id)]
    assert ids(status="pending", workflow_id=str(workflow.id)) == [str(pending.id)]
    assert ids(since="2024-03-02T00:00:00Z", until="2024-03-03T00:00:00+00:00") == [str(crashed.id)]
    assert ids(last_activity_until="2024-03-05T00:00:00Z") == [str(crashed.id), str(failed.id)]
    assert ids(last_activity_since="2024-03-02T00:00:00Z", last_activity_until="2024-03-05") == [
        str(crashed.id)
    ]
    assert ids(search="KOFI 100%") == [str(failed.id)]
    assert ids(search="100%%") == []

    bad = client.get(url, params={"status": ["failed", "sleeping"]}, headers=auth)
    assert bad.status_code == 422
    assert "'sleeping'" in bad.json()["detail"] and "pending" in bad.json()["detail"]
    assert client.get(url, params={"since": "yesterday"}, headers=auth).status_code == 422


def test_every_route_needs_a_token_and_membership(
    client: TestClient, session: Session, project, workflow
) -> None:
    enqueued = factories.make_run(session, workflow)
    urls = [
        f"/api/runs/{enqueued.run.id}",
        f"/api/runs/{enqueued.run.id}/log_lines",
        f"/api/dataclips/{enqueued.work_order.dataclip_id}",
        f"/api/projects/{project.id}/work_orders",
    ]
    stranger = factories.auth_headers(session, factories.make_user(session))
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    viewer_headers = factories.auth_headers(session, viewer)
    for url in urls:
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=stranger).status_code == 404, url
        assert client.get(url, headers=viewer_headers).status_code == 200, url
    # A stranger cannot tell an existing run from an unknown one.
    assert client.get(urls[0], headers=stranger).json() == {"detail": "Run not found."}


def test_unknown_ids_are_404(client: TestClient, auth: dict) -> None:
    ghost = uuid.uuid4()
    for url, detail in [
        (f"/api/runs/{ghost}", "Run not found."),
        (f"/api/runs/{ghost}/log_lines", "Run not found."),
        (f"/api/dataclips/{ghost}", "Dataclip not found."),
        (f"/api/projects/{ghost}/work_orders", "Project not found."),
    ]:
        response = client.get(url, headers=auth)
        assert response.status_code == 404, url
        assert response.json()["detail"] == detail
