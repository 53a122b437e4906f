"""Run one step alone (`POST /api/workflows/{id}/jobs/{job_id}/run`) on the real runtime."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests import factories

pytestmark = pytest.mark.slow

SECRET = "s3cr3t-token-value"
USES_SECRET = """fn(state => {
  console.log('calling with ' + state.configuration.token);
  return { ...state, data: { ...state.data, checked: state.data.id * 2 } };
});"""


def _setup(client: TestClient, session, project, auth):
    cred = factories.make_credential(session, project, {"token": SECRET})
    doc = factories.workflow_doc(jobs={"check": USES_SECRET, "after": "fn(s => s);"})
    doc.jobs[0].project_credential_id = cred
    workflow = factories.make_workflow(session, project, doc)
    enqueued = factories.make_run(session, workflow, {"id": 21})
    clip_id = enqueued.work_order.dataclip_id
    assert client.patch(f"/api/dataclips/{clip_id}", json={"name": "order 21"}, headers=auth)
    return workflow, workflow.jobs[0], clip_id, cred


def test_run_a_saved_step_on_a_named_input_with_its_credential(
    client: TestClient, session, project, auth
) -> None:
    workflow, job, clip_id, _cred = _setup(client, session, project, auth)

    answer = client.post(
        f"/api/workflows/{workflow.id}/jobs/{job.id}/run",
        json={"dataclip_id": str(clip_id)},
        headers=auth,
    )

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["exit_reason"] == "success"
    assert result["output"]["data"] == {"id": 21, "checked": 42}
    assert "configuration" not in result["output"]
    messages = [line["message"] for line in result["logs"]]
    assert any("calling with ***" in m for m in messages), messages
    assert SECRET not in answer.text
    # nothing recorded: still the one work order made above
    history = client.get(f"/api/projects/{project.id}/work_orders", headers=auth).json()
    assert history["total"] == 1


def test_run_unsaved_code_on_a_given_input(client: TestClient, session, project, auth) -> None:
    workflow, job, _clip, cred = _setup(client, session, project, auth)
    draft = {
        "body": "fn(state => { console.log('draft', state.configuration.token); "
        "throw new TypeError('bad ' + state.data.id); });",
        "adaptor": "@openfn/language-common@3.3.4",
        "project_credential_id": str(cred),
    }

    answer = client.post(
        f"/api/workflows/{workflow.id}/jobs/{job.id}/run",
        json={"body": {"data": {"id": 7}}, "job": draft},
        headers=auth,
    )

    result = answer.json()
    assert answer.status_code == 200, answer.text
    assert result["exit_reason"] == "fail"
    assert result["error_type"] == "TypeError"
    assert "bad 7" in result["error_message"]
    assert SECRET not in answer.text
    assert any("draft ***" in line["message"] for line in result["logs"])

    new_job = client.post(
        f"/api/workflows/{workflow.id}/jobs/{uuid.uuid4()}/run",
        json={
            "body": {"data": {"n": 1}},
            "job": {"body": "fn(s => ({...s, data: {n: s.data.n + 1}}));"},
        },
        headers=auth,
    )
    assert new_job.json()["output"] == {"data": {"n": 2}}


def test_bad_step_run_requests(client: TestClient, session, project, auth) -> None:
    workflow, job, clip_id, _cred = _setup(client, session, project, auth)
    url = f"/api/workflows/{workflow.id}/jobs/{job.id}/run"

    unknown = client.post(url, json={"dataclip_id": str(uuid.uuid4())}, headers=auth)
    assert unknown.status_code == 404

    other = factories.make_project(session, owner=factories.make_user(session))
    foreign_wf = factories.make_workflow(session, other)
    foreign_clip = factories.make_run(session, foreign_wf).work_order.dataclip_id
    foreign = client.post(url, json={"dataclip_id": str(foreign_clip)}, headers=auth)
    assert foreign.status_code == 404

    both = client.post(url, json={"dataclip_id": str(clip_id), "body": {}}, headers=auth)
    assert both.status_code == 422
    unsaved_job = client.post(
        f"/api/workflows/{workflow.id}/jobs/{uuid.uuid4()}/run", json={"body": {}}, headers=auth
    )
    assert unsaved_job.status_code == 404
    assert "send its code" in unsaved_job.json()["detail"]


def test_a_step_run_is_bounded_by_the_project_step_time_limit(
    client: TestClient, session, project, auth
) -> None:
    from lightning_flows.projects.models import Project

    row = session.get(Project, project.id)
    row.step_timeout_seconds = 2
    session.add(row)
    session.commit()
    workflow = factories.make_workflow(session, project, jobs={"slow": "fn(s => s);"})
    job = workflow.jobs[0]
    forever = "fn(async state => { await new Promise(r => setTimeout(r, 60000)); return state; });"

    answer = client.post(
        f"/api/workflows/{workflow.id}/jobs/{job.id}/run",
        json={"body": {"data": {}}, "job": {"body": forever}},
        headers=auth,
    )

    result = answer.json()
    assert answer.status_code == 200, answer.text
    assert result["exit_reason"] == "kill"
    assert result["duration_ms"] < 30_000


def test_a_viewer_cannot_run_a_step(client: TestClient, session, project) -> None:
    from lightning_flows.projects.models import Role

    workflow = factories.make_workflow(session, project)
    viewer = factories.make_user(session)
    factories.add_member(session, project, viewer, Role.VIEWER)
    answer = client.post(
        f"/api/workflows/{workflow.id}/jobs/{workflow.jobs[0].id}/run",
        json={"body": {"data": {}}},
        headers=factories.auth_headers(session, viewer),
    )
    assert answer.status_code == 403
    stranger = factories.auth_headers(session, factories.make_user(session))
    hidden = client.post(
        f"/api/workflows/{workflow.id}/jobs/{workflow.jobs[0].id}/run",
        json={"body": {"data": {}}},
        headers=stranger,
    )
    assert hidden.status_code == 404
